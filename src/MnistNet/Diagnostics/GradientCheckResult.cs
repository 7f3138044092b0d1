namespace MnistNet.Diagnostics;

/// <summary>The outcome of <see cref="GradientCheck"/>: how far the analytic gradients are from centered finite differences.</summary>
/// <param name="MaxRelativeError">The largest relative error over every checked coordinate of every parameter tensor.</param>
/// <param name="WorstParameter">Where it occurred, for example <c>W1[3, 17]</c>; empty when nothing was checked.</param>
/// <param name="MaxRelativeErrorByTensor">The largest relative error per tensor: keys <c>W1</c>, <c>b1</c>, <c>W2</c>, <c>b2</c> (for a <see cref="Networks.DenseNetwork{T}"/>: <c>W0</c>, <c>b0</c>, <c>W1</c>, …).</param>
/// <param name="Checked">Number of coordinates compared.</param>
/// <param name="Skipped">Number of coordinates skipped because the perturbation moved a hidden pre-activation across ReLU's kink at 0 or handed a max-pooling window to another winner.</param>
public sealed record GradientCheckResult(
    double MaxRelativeError,
    string WorstParameter,
    IReadOnlyDictionary<string, double> MaxRelativeErrorByTensor,
    int Checked,
    int Skipped);
