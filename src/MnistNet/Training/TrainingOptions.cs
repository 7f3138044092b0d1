namespace MnistNet.Training;

/// <summary>How a <see cref="Trainer{T}"/> trains: epochs, batch size, schedule, early stopping, checkpoints, reporting.</summary>
public sealed class TrainingOptions
{
    /// <summary>Gets the number of passes over the training set (≥ 1). Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Gets the mini-batch size; 0 (or at least the training set's size) means full-batch gradient descent. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Gets the seed of the per-epoch shuffles; equal seeds give equal bits. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Gets whether the examples are shuffled (seeded) at the start of every epoch. Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Gets the learning-rate schedule. Default <see cref="LearningRateSchedule.Constant"/>.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>
    /// Gets the early-stopping patience: with a dev set, training stops after this many epochs without a lower dev loss,
    /// and the parameters of the best epoch are restored. 0 (the default) turns early stopping off.
    /// </summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Gets a checkpoint file written (atomically) after every epoch and when training is cancelled; null for none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>
    /// Gets the random distortions applied to every training batch (drawn from <see cref="Seed"/> and the step number),
    /// or null (the default) for none. Mini-batches with augmentation run on the dense batch (the sparse first layer needs
    /// the stored images).
    /// </summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>Gets a receiver of one <see cref="EpochReport"/> per epoch (with dev metrics when a dev set is given).</summary>
    public IProgress<EpochReport>? Progress { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegative(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(EarlyStoppingPatience, nameof(EarlyStoppingPatience));
        ArgumentNullException.ThrowIfNull(Schedule, nameof(Schedule));
        Augmentation?.Validate();
    }
}
