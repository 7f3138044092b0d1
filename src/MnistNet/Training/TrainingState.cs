using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Training;

/// <summary>Where a <see cref="Trainer{T}"/> stands: what a checkpoint saves besides the network and the optimiser.</summary>
internal sealed class TrainingState<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Completed epochs.</summary>
    public int Epoch { get; set; }

    /// <summary>Steps taken in the current epoch.</summary>
    public int BatchInEpoch { get; set; }

    /// <summary>The current epoch's batch losses so far, each times its batch size.</summary>
    public double EpochLossSum { get; set; }

    /// <summary>Optimiser steps since the start of training.</summary>
    public long Steps { get; set; }

    /// <summary>The lowest dev loss so far (early stopping).</summary>
    public double BestLoss { get; set; } = double.PositiveInfinity;

    /// <summary>The epoch of <see cref="BestLoss"/> (0: none yet).</summary>
    public int BestEpoch { get; set; }

    /// <summary>Epochs since the best one.</summary>
    public int BadEpochs { get; set; }

    /// <summary>The parameters of the best epoch, when early stopping keeps them.</summary>
    public Matrix<T>[]? Best { get; set; }

    /// <summary>The number of training examples, so a resumed run can refuse another training set.</summary>
    public int TrainCount { get; set; }
}
