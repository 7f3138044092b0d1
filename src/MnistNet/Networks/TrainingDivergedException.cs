namespace MnistNet.Networks;

/// <summary>Thrown when the training loss becomes NaN or infinite.</summary>
public sealed class TrainingDivergedException : ArithmeticException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TrainingDivergedException()
        : this("Training diverged: the loss is not finite.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a given iteration and loss value.</summary>
    /// <param name="iteration">The 0-based iteration whose loss was not finite.</param>
    /// <param name="loss">The loss value (NaN or ±∞).</param>
    public TrainingDivergedException(int iteration, double loss)
        : base($"Training diverged at iteration {iteration}: the loss is {loss}. Usual causes: a learning rate that is too high, or unscaled inputs (pixels should be in [0, 1], not 0-255).")
    {
        Iteration = iteration;
        Loss = loss;
    }

    /// <summary>Creates the exception for a mini-batch step of an epoch.</summary>
    /// <param name="epoch">The 1-based epoch.</param>
    /// <param name="step">The 0-based step since the start of training (also stored as <see cref="Iteration"/>).</param>
    /// <param name="loss">The loss value (NaN or ±∞).</param>
    public TrainingDivergedException(int epoch, long step, double loss)
        : base($"Training diverged in epoch {epoch} at step {step}: the batch loss is {loss}. Usual causes: a learning rate that is too high (try 10× lower), unscaled inputs (pixels should be in [0, 1], not 0-255), or an initialisation too large for the network's depth.")
    {
        Epoch = epoch;
        Iteration = step > int.MaxValue ? -1 : (int)step;
        Step = step;
        Loss = loss;
    }

    /// <summary>Gets the 1-based epoch in which training diverged, or -1 when unknown (or full-batch gradient descent).</summary>
    public int Epoch { get; } = -1;

    /// <summary>Gets the 0-based step (mini-batch update since the start) whose loss was not finite, or -1 when unknown.</summary>
    public long Step { get; } = -1;

    /// <summary>Gets the 0-based iteration whose loss was not finite, or -1 when unknown.</summary>
    public int Iteration { get; } = -1;

    /// <summary>Gets the non-finite loss value, or NaN when unknown.</summary>
    public double Loss { get; } = double.NaN;
}
