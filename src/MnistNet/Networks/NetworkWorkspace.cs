using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// Every buffer one forward and backward pass of a <see cref="DenseNetwork{T}"/> needs for batches of a fixed size,
/// allocated once so that a training step allocates nothing.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
/// <remarks>A workspace is not thread-safe: use one per thread.</remarks>
public sealed class NetworkWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Allocates a workspace for <paramref name="network"/> and batches of exactly <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network whose layer sizes give the shapes.</param>
    /// <param name="columns">The batch size m (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is less than 1.</exception>
    public NetworkWorkspace(DenseNetwork<T> network, int columns)
        : this(network, columns, training: true)
    {
    }

    /// <summary>Allocates the buffers; without <paramref name="training"/> only those of a forward pass (for prediction).</summary>
    internal NetworkWorkspace(DenseNetwork<T> network, int columns, bool training)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        int layers = network.LayerCount;
        var z = new Matrix<T>[layers];
        var a = new Matrix<T>[layers];
        var dz = new Matrix<T>[layers];
        var dw = new Matrix<T>[layers];
        var db = new Matrix<T>[layers];
        for (int l = 0; l < layers; l++)
        {
            int rows = network.LayerSizes[l + 1];
            z[l] = new Matrix<T>(rows, columns);
            a[l] = new Matrix<T>(rows, columns);
            dz[l] = training ? new Matrix<T>(rows, columns) : new Matrix<T>(0, 0);
            dw[l] = training ? new Matrix<T>(rows, network.LayerSizes[l]) : new Matrix<T>(0, 0);
            db[l] = training ? new Matrix<T>(rows, 1) : new Matrix<T>(0, 0);
        }

        Z = z;
        A = a;
        DZ = dz;
        WeightGradients = dw;
        BiasGradients = db;
        Labels = new byte[columns];
        Input = new Matrix<T>(network.Inputs, columns);
        Columns = columns;
        Sizes = [.. network.LayerSizes];
    }

    /// <summary>Gets the batch size m.</summary>
    public int Columns { get; }

    /// <summary>Gets the pre-activations <c>Z[l] = W[l]·A[l−1] + b[l]</c> of each layer (A[−1] is the input).</summary>
    public IReadOnlyList<Matrix<T>> Z { get; }

    /// <summary>Gets the activations of each layer: ReLU for hidden layers, softmax probabilities for the last.</summary>
    public IReadOnlyList<Matrix<T>> A { get; }

    /// <summary>Gets ∂loss/∂Z of each layer (summed loss; the mean is taken in the weight gradients).</summary>
    public IReadOnlyList<Matrix<T>> DZ { get; }

    /// <summary>Gets the gradients of the mean loss with respect to each layer's weights.</summary>
    public IReadOnlyList<Matrix<T>> WeightGradients { get; }

    /// <summary>Gets the gradients of the mean loss with respect to each layer's biases.</summary>
    public IReadOnlyList<Matrix<T>> BiasGradients { get; }

    /// <summary>Gets the probabilities of the last forward pass (the last layer's activations).</summary>
    public Matrix<T> Output => A[^1];

    /// <summary>Gets a buffer for a batch of inputs (inputs × m), for callers that assemble batches in place.</summary>
    public Matrix<T> Input { get; }

    /// <summary>Gets a buffer for a batch of labels (m), for callers that assemble batches in place.</summary>
    public byte[] Labels { get; }

    internal int[] Sizes { get; }

    internal bool Fits(DenseNetwork<T> network)
    {
        if (Sizes.Length != network.LayerSizes.Count)
        {
            return false;
        }

        for (int i = 0; i < Sizes.Length; i++)
        {
            if (Sizes[i] != network.LayerSizes[i])
            {
                return false;
            }
        }

        return true;
    }
}
