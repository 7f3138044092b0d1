using MnistNet.Diagnostics;

namespace MnistNet.Training;

/// <summary>What happened in one epoch of <see cref="Trainer{T}.Fit"/>.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="Epochs">The number of epochs the run was asked for.</param>
/// <param name="Steps">Optimiser steps since the start of training, after this epoch.</param>
/// <param name="TrainLoss">The mean of the epoch's mini-batch losses, weighted by batch size (computed before each update).</param>
/// <param name="LearningRate">The learning rate of the epoch's last step.</param>
/// <param name="Dev">Metrics on the dev set after the epoch, or null without a dev set.</param>
/// <param name="IsBest">Whether this epoch has the lowest dev loss so far (false without a dev set).</param>
/// <param name="Elapsed">Wall time since <see cref="Trainer{T}.Fit"/> started (training and dev evaluation).</param>
public sealed record EpochReport(int Epoch, int Epochs, long Steps, double TrainLoss, double LearningRate, ClassificationMetrics? Dev, bool IsBest, TimeSpan Elapsed);
