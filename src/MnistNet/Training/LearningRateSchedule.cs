namespace MnistNet.Training;

/// <summary>
/// How the learning rate changes during training: the optimiser's base rate times <see cref="Factor"/>. Use
/// <see cref="Constant"/>, <see cref="StepDecay"/> or <see cref="Cosine"/>, or derive your own (the trainer calls
/// <see cref="Factor"/> once before every step).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Initialises a schedule.</summary>
    protected LearningRateSchedule()
    {
    }

    /// <summary>Gets the schedule that keeps the base rate.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>Gets the schedule's name, as the sample prints it.</summary>
    public abstract string Name { get; }

    /// <summary>Multiplies the rate by <paramref name="gamma"/> every <paramref name="everyEpochs"/> epochs.</summary>
    /// <param name="everyEpochs">Epochs between decays (≥ 1).</param>
    /// <param name="gamma">The factor, in (0, 1].</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static LearningRateSchedule StepDecay(int everyEpochs, double gamma) => new StepSchedule(everyEpochs, gamma);

    /// <summary>Cosine annealing over the whole run, step by step, from the base rate down to <paramref name="finalFactor"/> times it.</summary>
    /// <param name="finalFactor">The factor at the last step, in [0, 1].</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="finalFactor"/> is out of range.</exception>
    public static LearningRateSchedule Cosine(double finalFactor = 0) => new CosineSchedule(finalFactor);

    /// <summary>The factor of the base learning rate for a step.</summary>
    /// <param name="epoch">The 0-based epoch.</param>
    /// <param name="step">The 0-based step since the start of training.</param>
    /// <param name="totalSteps">The number of steps of the whole run (≥ 1).</param>
    /// <returns>A factor in (0, 1] (cosine may reach its final factor, possibly 0, only after the last step).</returns>
    public abstract double Factor(int epoch, long step, long totalSteps);

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override string Name => "constant";

        public override double Factor(int epoch, long step, long totalSteps) => 1;
    }

    private sealed class StepSchedule : LearningRateSchedule
    {
        private readonly int _every;
        private readonly double _gamma;

        public StepSchedule(int every, double gamma)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
            if (!(gamma > 0 && gamma <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "Expected a factor in (0, 1].");
            }

            _every = every;
            _gamma = gamma;
        }

        public override string Name => $"step({_every}, {_gamma.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

        public override double Factor(int epoch, long step, long totalSteps) => Math.Pow(_gamma, epoch / _every);
    }

    private sealed class CosineSchedule : LearningRateSchedule
    {
        private readonly double _final;

        public CosineSchedule(double final)
        {
            if (!(final >= 0 && final <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(final), final, "Expected a factor in [0, 1].");
            }

            _final = final;
        }

        public override string Name => "cosine";

        // Steps 0 … total−1 take the curve's first total points, so the last step keeps a rate above the final one.
        public override double Factor(int epoch, long step, long totalSteps) =>
            _final + ((1 - _final) * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, totalSteps))));
    }
}
