namespace MnistNet.Networks;

/// <summary>How a batch from a <see cref="Data.Dataset"/> reaches the first layer.</summary>
public enum InputMode
{
    /// <summary>Sparse when fewer than 30 % of the data set's pixels are non-zero (MNIST: 19 %) and the first layer is dense; else dense.</summary>
    Auto = 0,

    /// <summary>Always a dense matrix (every pixel multiplied).</summary>
    Dense = 1,

    /// <summary>Always the non-zero pixels only (needs a dense first layer).</summary>
    Sparse = 2,
}
