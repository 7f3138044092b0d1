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

    /// <summary>Gets the 0-based iteration whose loss was not finite, or -1 when unknown.</summary>
    public int Iteration { get; } = -1;

    /// <summary>Gets the non-finite loss value, or NaN when unknown.</summary>
    public double Loss { get; } = double.NaN;
}
