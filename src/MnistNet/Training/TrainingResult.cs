namespace MnistNet.Training;

/// <summary>The outcome of <see cref="Trainer{T}.Fit"/>.</summary>
/// <param name="Epochs">Epochs completed, counting those before a resume.</param>
/// <param name="Steps">Optimiser steps since the start of training.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run (the best epoch's parameters were then restored).</param>
/// <param name="BestEpoch">The 1-based epoch with the lowest dev loss, or 0 without a dev set.</param>
/// <param name="BestDevLoss">That epoch's dev loss, or NaN.</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="History">One report per epoch run by this call.</param>
public sealed record TrainingResult(int Epochs, long Steps, bool StoppedEarly, int BestEpoch, double BestDevLoss, TimeSpan Elapsed, IReadOnlyList<EpochReport> History);
