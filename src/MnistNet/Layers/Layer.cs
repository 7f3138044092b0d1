using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>
/// One step of a network: its forward and backward computation over a batch (one example per column), side by side.
/// A <see cref="Networks.Network{T}"/> is a sequence of layers; the last is a <see cref="SoftmaxCrossEntropy{T}"/>.
/// </summary>
/// <remarks>
/// <para>A layer keeps its parameters (<see cref="Parameters"/>) but no per-batch state: the network's workspace owns
/// the activations and gradients, so one network can predict from many threads while nothing trains it.</para>
/// <para>Convention: back-propagation carries the gradient of the <b>summed</b> loss between layers; parameter
/// gradients are those of the <b>mean</b> loss (multiplied by <see cref="LayerContext.InverseBatch"/>).</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public abstract class Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Gets the number of input rows per example.</summary>
    public abstract int InputSize { get; }

    /// <summary>Gets the number of output rows per example.</summary>
    public abstract int OutputSize { get; }

    /// <summary>Gets the trainable tensors, in a fixed order (empty for layers without parameters).</summary>
    public virtual IReadOnlyList<Parameter<T>> Parameters => [];

    /// <summary>Gets whether <see cref="Backward"/> may write the input gradient over the output gradient (elementwise layers).</summary>
    protected internal virtual bool BackwardInPlace => false;

    /// <summary>Computes the layer's output for a batch.</summary>
    /// <param name="context">The batch's labels, size and SIMD path.</param>
    /// <param name="input"><see cref="InputSize"/> × m.</param>
    /// <param name="output"><see cref="OutputSize"/> × m, written.</param>
    protected internal abstract void Forward(LayerContext context, Matrix<T> input, Matrix<T> output);

    /// <summary>
    /// Back-propagates: writes the gradients of the mean loss into <paramref name="parameterGradients"/> (one per
    /// <see cref="Parameters"/> entry, same shapes) and, unless <paramref name="inputGradient"/> is null (the first layer),
    /// the gradient of the summed loss with respect to the input.
    /// </summary>
    /// <param name="context">The batch's labels, size and SIMD path.</param>
    /// <param name="input">The input of the forward pass.</param>
    /// <param name="output">The output of the forward pass.</param>
    /// <param name="outputGradient">∂L/∂output (summed loss); null for the loss layer, which starts the chain.</param>
    /// <param name="inputGradient">∂L/∂input, written; null when nobody needs it.</param>
    /// <param name="parameterGradients">The gradients of this layer's parameters, written.</param>
    protected internal abstract void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients);

    /// <summary>Fills the parameters with seeded initial values.</summary>
    /// <param name="initialization">The scheme.</param>
    /// <param name="random">The generator; layers draw in order, so the same seed gives the same bits.</param>
    protected internal virtual void Initialize(Networks.Initialization initialization, Prng random)
    {
    }

    /// <summary>Returns a layer of the same kind and sizes with a copy of the parameters.</summary>
    /// <returns>The copy.</returns>
    public abstract Layer<T> Clone();

    /// <summary>Gets a short description for architecture strings, e.g. "dense 784→256" or "relu".</summary>
    /// <returns>The description.</returns>
    public abstract override string ToString();
}
