using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>
/// One trainable tensor of a layer — a dense layer's weights or biases — with its name in model files and checkpoints
/// (<c>layers.{l}.weight</c>). Optimisers, model files and checkpoints walk a network's parameters by these names and
/// know nothing of layer types.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Parameter<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _shape;

    /// <summary>Creates a parameter stored as a <paramref name="rows"/> × <paramref name="columns"/> matrix.</summary>
    /// <param name="localName">The name within its layer, such as "weight" or "bias".</param>
    /// <param name="rows">Rows of the storage matrix.</param>
    /// <param name="columns">Columns of the storage matrix.</param>
    /// <param name="shape">The shape written to files (its product must be rows × columns), e.g. [out, in] or [out].</param>
    /// <param name="decays">Whether weight decay (AdamW) applies: true for weights, false for biases.</param>
    /// <exception cref="ArgumentException">The name is empty or the shape does not hold rows × columns elements.</exception>
    public Parameter(string localName, int rows, int columns, IReadOnlyList<int> shape, bool decays)
    {
        ArgumentException.ThrowIfNullOrEmpty(localName);
        ArgumentNullException.ThrowIfNull(shape);
        long product = 1;
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            product *= d;
        }

        if (product != (long)rows * columns)
        {
            throw new ArgumentException($"The shape [{string.Join(", ", shape)}] does not hold {rows} × {columns} elements.", nameof(shape));
        }

        LocalName = localName;
        Name = localName;
        Value = new Matrix<T>(rows, columns);
        _shape = [.. shape];
        Decays = decays;
    }

    /// <summary>Gets the name within the layer ("weight", "bias").</summary>
    public string LocalName { get; }

    /// <summary>Gets the full name, <c>layers.{l}.{LocalName}</c> once the layer belongs to a network (l counts the layers that have parameters).</summary>
    public string Name { get; private set; }

    /// <summary>Gets the values. They may be read and changed in place.</summary>
    public Matrix<T> Value { get; }

    /// <summary>Gets the shape written to files: [out, in] for weights (as PyTorch's <c>nn.Linear.weight</c>), [out] for biases.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Gets whether decoupled weight decay applies to this parameter (weights yes, biases no).</summary>
    public bool Decays { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", _shape)}]";

    internal void SetName(string name) => Name = name;
}
