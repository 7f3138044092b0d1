using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Activations;

/// <summary>One-hot encoding of labels and the cross-entropy loss of softmax outputs.</summary>
public static class CrossEntropy
{
    /// <summary>Returns the one-hot encoding of <paramref name="labels"/>: a <paramref name="classes"/> × m matrix with a 1 in row <c>labels[j]</c> of column j.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="labels">Class indices, one per example.</param>
    /// <param name="classes">Number of classes (rows); defaults to 10.</param>
    /// <returns>A new matrix.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> is not positive, or a label is not below it.</exception>
    /// <remarks>The seed sizes the encoding from the largest label present (<c>Y.max() + 1</c>); here it is explicit, so a batch without a 9 still has 10 rows.</remarks>
    public static Matrix<T> OneHot<T>(ReadOnlySpan<ushort> labels, int classes = 10)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(classes, 0);
        ValidateLabels(labels, classes, nameof(labels));
        var result = new Matrix<T>(classes, labels.Length);
        for (int j = 0; j < labels.Length; j++)
        {
            result[labels[j], j] = T.One;
        }

        return result;
    }

    /// <summary>
    /// Effectively computes the mean cross-entropy <c>L = −(1/m) Σ_j log probabilities[labels[j], j]</c>.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="probabilities">Softmax outputs, classes × m.</param>
    /// <param name="labels">m class indices.</param>
    /// <returns>The mean loss in double precision; 0 for an empty batch.</returns>
    /// <exception cref="ArgumentException"><paramref name="labels"/> does not have one entry per column.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is not a row of <paramref name="probabilities"/>.</exception>
    /// <remarks>
    /// A probability of exactly 0 gives +∞. Training computes the loss from the logits instead, which never
    /// overflows; this overload is for probabilities obtained elsewhere.
    /// </remarks>
    public static double Loss<T>(Matrix<T> probabilities, ReadOnlySpan<ushort> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        RequireOneLabelPerColumn(probabilities.Columns, labels, nameof(labels));
        ValidateLabels(labels, probabilities.Rows, nameof(labels));
        if (labels.IsEmpty)
        {
            return 0;
        }

        double sum = 0;
        for (int j = 0; j < labels.Length; j++)
        {
            sum -= Math.Log(double.CreateTruncating(probabilities[labels[j], j]));
        }

        return sum / labels.Length;
    }

    internal static void RequireOneLabelPerColumn(int columns, ReadOnlySpan<ushort> labels, string paramName)
    {
        if (labels.Length != columns)
        {
            throw new ArgumentException($"Expected one label per column: {columns} labels, got {labels.Length}.", paramName);
        }
    }

    internal static void ValidateLabels(ReadOnlySpan<ushort> labels, int classes, string paramName)
    {
        for (int j = 0; j < labels.Length; j++)
        {
            if (labels[j] >= classes)
            {
                throw new ArgumentOutOfRangeException(paramName, $"Label {labels[j]} at index {j} is out of range: expected 0 to {classes - 1}.");
            }
        }
    }
}
