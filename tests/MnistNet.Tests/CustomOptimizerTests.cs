using System.Numerics;
using MnistNet.Data;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>An optimiser written outside the library, as a user would: it trains, checkpoints and resumes through the registry.</summary>
public class CustomOptimizerTests
{
    /// <summary>Signum (signSGD with momentum, Bernstein et al. 2018): m ← β·m + (1 − β)·g, θ ← θ − η·sign(m).</summary>
    private sealed class Signum<T>(double learningRate, double beta = 0.9) : Optimizer<T>(learningRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Beta { get; } = beta;

        public override string Name => "signum";

        public override int StateCount => 1;

        public override IEnumerable<KeyValuePair<string, string>> Settings() =>
            [new("beta", Beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture))];

        protected override void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate)
        {
            Span<T> theta = parameter.Value.AsSpan();
            Span<T> m = state[0].AsSpan();
            T beta = T.CreateTruncating(Beta);
            for (int i = 0; i < theta.Length; i++)
            {
                m[i] = (beta * m[i]) + ((T.One - beta) * gradient[i]);
                theta[i] -= learningRate * T.CreateTruncating(T.Sign(m[i]));
            }
        }
    }

    private sealed class SignumFactory : IOptimizerFactory
    {
        public Optimizer<T> Create<T>(string name, double learningRate, IReadOnlyDictionary<string, string> settings)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            new Signum<T>(learningRate, settings.TryGetValue("beta", out string? beta) ? double.Parse(beta, System.Globalization.CultureInfo.InvariantCulture) : 0.9);
    }

    [Fact]
    public void UserOptimizer_Trains_AndResumesFromACheckpointThroughTheRegistry()
    {
        Optimizers.Register("signum", new SignumFactory());
        Assert.Contains("signum", Optimizers.Names);
        Dataset train = DenseNetworkTests.SyntheticDigits(1200, seed: 1);
        Dataset dev = DenseNetworkTests.SyntheticDigits(300, seed: 2);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 100, Seed = 4 };

        var straight = new DenseNetwork<float>([784, 16, 10], seed: 3);
        new Trainer<float>(straight, new Signum<float>(0.002, 0.8), options).Fit(train, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(straight.Evaluate(dev).Accuracy > 0.8, $"dev accuracy {straight.Evaluate(dev).Accuracy:F3}");

        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-signum-{Guid.NewGuid():N}.safetensors");
        try
        {
            var first = new DenseNetwork<float>([784, 16, 10], seed: 3);
            var trainer = new Trainer<float>(first, new Signum<float>(0.002, 0.8), new TrainingOptions { Epochs = 1, BatchSize = 100, Seed = 4, CheckpointPath = path });
            trainer.Fit(train, cancellationToken: TestContext.Current.CancellationToken);
            Trainer<float> resumed = Trainer<float>.Resume(path, options);
            Assert.IsType<Signum<float>>(resumed.Optimizer);
            Assert.Equal(0.8, ((Signum<float>)resumed.Optimizer).Beta);
            resumed.Fit(train, cancellationToken: TestContext.Current.CancellationToken);
            TrainerTests.AssertSameParameters(straight, resumed.Network);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Registry_UnknownName_ListsTheKnownOnes()
    {
        KeyNotFoundException ex = Assert.Throws<KeyNotFoundException>(() => Optimizers.Create<float>("adagrad", 0.1));
        Assert.Contains("adam", ex.Message);
        Assert.IsType<Adam<float>>(Optimizers.Create<float>("adamw", 0.1));
        Assert.Equal(0.01, ((Adam<float>)Optimizers.Create<float>("adamw", 0.1)).WeightDecay);
        Assert.True(((Momentum<double>)Optimizers.Create<double>("nesterov", 0.1, new Dictionary<string, string> { ["momentum"] = "0.5" })).Nesterov);
        Assert.Throws<FormatException>(() => Optimizers.Create<float>("rmsprop", 0.1, new Dictionary<string, string> { ["rho"] = "x" }));
    }
}
