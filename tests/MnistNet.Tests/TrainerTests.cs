using FsCheck.Xunit;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

[Collection(SerialTestGroup.Name)]
public class TrainerTests
{
    private static readonly Dataset Train = DenseNetworkTests.SyntheticDigits(1200, seed: 1);
    private static readonly Dataset Dev = DenseNetworkTests.SyntheticDigits(300, seed: 2);

    [Theory]
    [MemberData(nameof(OptimizerTests.Names), MemberType = typeof(OptimizerTests))]
    public void Fit_EveryOptimizer_LearnsTheSyntheticDigits(string name)
    {
        var net = new DenseNetwork<float>([784, 32, 10], seed: 3);
        double before = net.Evaluate(Dev).Accuracy;
        double rate = name is "sgd" or "momentum" or "nesterov" ? 0.05 : 0.003;
        var trainer = new Trainer<float>(net, OptimizerTests.Create<float>(name, rate), new TrainingOptions { Epochs = 3, BatchSize = 50, Seed = 1 });
        TrainingResult result = trainer.Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
        double after = net.Evaluate(Dev).Accuracy;
        Assert.True(after > 0.9 && after > before + 0.3, $"{name}: accuracy {before:F3} → {after:F3}");
        Assert.Equal(3, result.Epochs);
        Assert.Equal(3 * 24, result.Steps);
        Assert.True(result.History[2].TrainLoss < result.History[0].TrainLoss);
    }

    [Fact]
    public void Fit_SameSeed_SameBits_OnOneOrTwoThreads_AndFullBatchWorks()
    {
        // 784-128-10 on batches of 3 000: products of several chunks each, so the pool's worker really takes part.
        Dataset many = DenseNetworkTests.SyntheticDigits(6000, seed: 4);
        DenseNetwork<float> Wide(long seed)
        {
            var net = new DenseNetwork<float>([784, 128, 10], seed: 7);
            new Trainer<float>(net, new Adam<float>(0.005), new TrainingOptions { Epochs = 2, BatchSize = 3000, Seed = seed }).Fit(many, cancellationToken: TestContext.Current.CancellationToken);
            return net;
        }

        DenseNetwork<float> one = Threads.Run(1, () => Wide(5));
        DenseNetwork<float> two = Threads.Run(2, () => Wide(5));
        DenseNetwork<float> otherSeed = Wide(6);
        AssertSameParameters(one, two);
        Assert.False(TestData.SameBits(one.Weights[0], otherSeed.Weights[0]));

        // Full batch (BatchSize 0): one step per epoch.
        var net = new DenseNetwork<float>([784, 16, 10], seed: 1);
        TrainingResult full = new Trainer<float>(net, new Adam<float>(0.01), new TrainingOptions { Epochs = 3, BatchSize = 0 }).Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, full.Steps);
    }

    [Fact]
    public void Fit_FromAnImpossiblePosition_IsRefused_BeforeAnyStep()
    {
        // What an edited checkpoint could claim: epoch 1 done, yet no steps taken (or a batch past the epoch's end).
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 8, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 3, BatchSize = 100 });
        trainer.State.Epoch = 1;
        var error = Assert.Throws<InvalidDataException>(() => trainer.Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("does not fit 1200 examples in batches of 100", error.Message);
        Assert.Equal(0, trainer.Steps);

        var past = new Trainer<float>(new DenseNetwork<float>([784, 8, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 3, BatchSize = 100 });
        past.State.BatchInEpoch = 12;
        Assert.Throws<InvalidDataException>(() => past.Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Fit_WithAnUnwritableCheckpointPath_FailsBeforeTheFirstStep_NamingThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-missing-{Guid.NewGuid():N}", "ckpt.safetensors");
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 8, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 100, CheckpointPath = path });
        var error = Assert.Throws<DirectoryNotFoundException>(() => trainer.Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains(path, error.Message);
        Assert.Equal(0, trainer.Steps);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("nesterov")]
    [InlineData("rmsprop")]
    public void Resume_FromEpochCheckpoint_GivesTheSameBitsAsAnUninterruptedRun(string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            var options = new TrainingOptions { Epochs = 4, BatchSize = 70, Seed = 9, Schedule = LearningRateSchedule.Cosine(), EarlyStoppingPatience = 2 };
            var straight = new DenseNetwork<float>([784, 24, 12, 10], seed: 4);
            TrainingResult whole = new Trainer<float>(straight, OptimizerTests.Create<float>(name, 0.01), options).Fit(Train, Dev, TestContext.Current.CancellationToken);

            // The same run, stopped after epoch 2 (cancelled from the progress callback; the cosine schedule still
            // spans the four epochs).
            var first = new DenseNetwork<float>([784, 24, 12, 10], seed: 4);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            var stopAfterTwo = new SynchronousProgress(r =>
            {
                if (r.Epoch == 2)
                {
                    cts.Cancel();
                }
            });
            var interrupted = new Trainer<float>(first, OptimizerTests.Create<float>(name, 0.01), new TrainingOptions
            {
                Epochs = 4, BatchSize = 70, Seed = 9, Schedule = LearningRateSchedule.Cosine(), EarlyStoppingPatience = 2, CheckpointPath = path, Progress = stopAfterTwo,
            });
            Assert.Throws<OperationCanceledException>(() => interrupted.Fit(Train, Dev, cts.Token));

            Trainer<float> resumed = Trainer<float>.Resume(path, options);
            Assert.Equal(2, resumed.CompletedEpochs);
            TrainingResult rest = resumed.Fit(Train, Dev, TestContext.Current.CancellationToken);
            Assert.Equal(whole.Steps, rest.Steps);
            AssertSameParameters(straight, resumed.Network);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cancel_MidEpoch_WritesCheckpoint_ResumeGivesTheSameBits()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            var options = new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 3 };
            var straight = new DenseNetwork<float>([784, 20, 10], seed: 8);
            new Trainer<float>(straight, new Adam<float>(0.005), options).Fit(Train, cancellationToken: TestContext.Current.CancellationToken);

            // Cancel during epoch 1, after step 5: the trainer sees the token before step 6.
            var interrupted = new DenseNetwork<float>([784, 20, 10], seed: 8);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            // A constant schedule that cancels while the trainer asks for step 4's rate (0-based): step 5 completes, step 6 does not start.
            var cancelAtStep5 = new RecordingSchedule((_, step, _) =>
            {
                if (step == 4)
                {
                    cts.Cancel();
                }
            });
            var trainer = new Trainer<float>(interrupted, new Adam<float>(0.005), new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 3, CheckpointPath = path, Schedule = cancelAtStep5 });
            Assert.Throws<OperationCanceledException>(() => trainer.Fit(Train, cancellationToken: cts.Token));
            Assert.True(File.Exists(path));
            Trainer<float> resumed = Trainer<float>.Resume(path, options);
            Assert.Equal(0, resumed.CompletedEpochs);
            Assert.Equal(5, resumed.Steps);
            resumed.Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
            AssertSameParameters(straight, resumed.Network);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EarlyStopping_StopsAndRestoresTheBestEpoch()
    {
        // A dev set whose labels are the training labels shifted by one: learning the training set makes its loss rise
        // from the first epoch on, so the best epoch is 1 and training stops after `patience` worse epochs.
        ushort[] shifted = [.. Train.Labels.ToArray().Select(l => (ushort)((l + 1) % 10))];
        var wrongDev = new Dataset(Train.RawPixels, shifted);
        var net = new DenseNetwork<float>([784, 64, 10], seed: 2);
        var snapshots = new Dictionary<int, DenseNetwork<float>>();
        var progress = new SynchronousProgress(r => snapshots[r.Epoch] = net.Clone());
        var trainer = new Trainer<float>(net, new Sgd<float>(0.5), new TrainingOptions { Epochs = 30, BatchSize = 20, Seed = 1, EarlyStoppingPatience = 2, Progress = progress });
        TrainingResult result = trainer.Fit(Train, wrongDev, TestContext.Current.CancellationToken);
        Assert.True(result.StoppedEarly);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal(3, result.Epochs);
        Assert.Equal(3, result.History.Count);
        Assert.True(result.History[1].Dev!.Loss > result.History[0].Dev!.Loss && result.History[2].Dev!.Loss > result.History[0].Dev!.Loss);
        double bestLoss = result.History.Min(r => r.Dev!.Loss);
        Assert.Equal(bestLoss, result.BestDevLoss);
        Assert.Equal(result.BestEpoch, result.History.First(r => r.Dev!.Loss == bestLoss).Epoch);
        Assert.False(TestData.SameBits(snapshots[3].Weights[0], snapshots[1].Weights[0]), "training went on after the best epoch");
        AssertSameParameters(snapshots[result.BestEpoch], net);
        Assert.All(result.History, r => Assert.NotNull(r.Dev));
    }

    [Fact]
    public void Divergence_ThrowsWithEpochStepAndAdvice()
    {
        var net = new DenseNetwork<float>([784, 16, 10], Initialization.Uniform, seed: 1);
        var trainer = new Trainer<float>(net, new Sgd<float>(1e30), new TrainingOptions { Epochs = 3, BatchSize = 100 });
        TrainingDivergedException ex = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(1, ex.Epoch);
        Assert.InRange(ex.Step, 0, 11);
        Assert.False(double.IsFinite(ex.Loss));
        Assert.Contains("learning rate", ex.Message);
    }

    [Fact]
    public void BadData_AndOptions_Throw()
    {
        var net = new DenseNetwork<float>([784, 8, 10]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer<float>(net, new Sgd<float>(), new TrainingOptions { Epochs = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer<float>(net, new Sgd<float>(), new TrainingOptions { BatchSize = -1 }));
        var trainer = new Trainer<float>(net, new Sgd<float>());
        Assert.Throws<ArgumentException>(() => trainer.Fit(Dataset.Unlabeled(new byte[784 * 3]), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentException>(() => trainer.Fit(DenseNetworkTests.SyntheticDigits(10, 1, side: 20), cancellationToken: TestContext.Current.CancellationToken));
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            net.Save(path);
            Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, new TrainingOptions()));
            trainer.SaveCheckpoint(path);
            Assert.Throws<ArgumentException>(() => Trainer<float>.Resume(path, new TrainingOptions { Seed = 1 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Property(Arbitrary = [typeof(ModelFileTests.MutationGenerators)], MaxTest = 200)]
    public void Resume_MutatedCheckpoint_ResumesOrThrowsInvalidDataOrArgument(ModelFileTests.Mutation mutation)
    {
        byte[] valid = ValidCheckpoint.Value;
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-mutated-{Guid.NewGuid():N}.safetensors");
        Trainer<float> trainer;
        try
        {
            File.WriteAllBytes(path, mutation.Apply(valid));
            trainer = Trainer<float>.Resume(path, CheckpointOptions);
        }
        catch (InvalidDataException)
        {
            return;
        }
        catch (ArgumentException ex) when (ex.ParamName == "options")
        {
            // A mutated seed or batch size: refused with the options named.
            return;
        }
        finally
        {
            File.Delete(path);
        }

        // A mutated checkpoint that resumes must resume the same training: same position, optimiser and numbers.
        Trainer<float> expected = ValidTrainer.Value;
        Assert.Equal(expected.CompletedEpochs, trainer.CompletedEpochs);
        Assert.Equal(expected.Steps, trainer.Steps);
        Assert.Equal(expected.Optimizer.Name, trainer.Optimizer.Name);
        Assert.Equal(expected.Optimizer.LearningRate, trainer.Optimizer.LearningRate);
        Assert.Equal(expected.Optimizer.Steps, trainer.Optimizer.Steps);
        Assert.Equal(expected.Optimizer.Settings(), trainer.Optimizer.Settings());
        AssertSameParameters(expected.Network, trainer.Network);

        // The rest of the state (loss sums, early stopping, optimiser moments) shows in what the next epoch computes.
        TrainingResult a = ResumeValid().Fit(Train, Dev, TestContext.Current.CancellationToken);
        TrainingResult b = trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
        Assert.Equal(a.History.Select(r => r.TrainLoss), b.History.Select(r => r.TrainLoss));
        Assert.Equal(a.BestEpoch, b.BestEpoch);
        Assert.Equal(a.BestDevLoss, b.BestDevLoss);
    }

    [Fact]
    public void Resume_EveryHeaderDigitChanged_RefusedOrTheSameTraining()
    {
        // Random mutations rarely land in the header; sweep it: every digit of the JSON header (shapes, offsets, the
        // training state's numbers, settings) changed to another digit must be refused — or change nothing.
        byte[] valid = ValidCheckpoint.Value;
        int headerEnd = 8 + (int)BitConverter.ToUInt64(valid, 0);
        Trainer<float> expected = ValidTrainer.Value;
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-digit-{Guid.NewGuid():N}.safetensors");
        var silent = new List<string>();
        try
        {
            for (int i = 8; i < headerEnd; i++)
            {
                if (valid[i] is < (byte)'0' or > (byte)'9')
                {
                    continue;
                }

                byte[] bad = (byte[])valid.Clone();
                bad[i] = (byte)(valid[i] == '9' ? '1' : valid[i] + 1);
                File.WriteAllBytes(path, bad);
                Trainer<float> trainer;
                try
                {
                    trainer = Trainer<float>.Resume(path, CheckpointOptions);
                }
                catch (InvalidDataException)
                {
                    continue;
                }
                catch (ArgumentException ex) when (ex.ParamName == "options")
                {
                    continue;
                }

                string context = System.Text.Encoding.UTF8.GetString(valid, Math.Max(8, i - 30), Math.Min(40, headerEnd - Math.Max(8, i - 30)));
                if (trainer.Steps != expected.Steps || trainer.CompletedEpochs != expected.CompletedEpochs || trainer.Optimizer.Steps != expected.Optimizer.Steps
                    || !trainer.Optimizer.Settings().SequenceEqual(expected.Optimizer.Settings()) || trainer.Optimizer.LearningRate != expected.Optimizer.LearningRate)
                {
                    silent.Add($"byte {i}: …{context}…");
                }
            }
        }
        finally
        {
            File.Delete(path);
        }

        Assert.True(silent.Count == 0, $"{silent.Count} changed checkpoints resumed silently, e.g. {string.Join(" | ", silent.Take(3))}");
    }

    /// <summary>The valid checkpoint, resumed: what every mutated checkpoint that loads must equal.</summary>
    private static readonly Lazy<Trainer<float>> ValidTrainer = new(ResumeValid);

    /// <summary>A fresh trainer resumed from the valid checkpoint (each Fit changes its trainer).</summary>
    private static Trainer<float> ResumeValid()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-valid-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, ValidCheckpoint.Value);
            return Trainer<float>.Resume(path, CheckpointOptions);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("batch_size", "2147483648", "too large")]                   // wrapped to a negative batch before
    [InlineData("batch_size", "-300", "expected a value ≥ 0")]
    [InlineData("epoch", "2147483647", "does not fit")]                     // a position the data cannot give
    [InlineData("steps", "1", "does not fit")]
    [InlineData("batch_in_epoch", "7", "does not fit")]
    [InlineData("batch_in_epoch", "-1", "expected a value ≥ 0")]
    [InlineData("optimizer_steps", "-5", "expected a value ≥ 0")]
    [InlineData("seed", "1.5", "no integer mnistnet.seed")]
    [InlineData("learning_rate", "NaN", "out of range")]
    [InlineData("learning_rate", "-0.01", "out of range")]
    [InlineData("learning_rate", "Infinity", "out of range")]
    [InlineData("epoch_loss_sum", "-1", "epoch_loss_sum")]
    [InlineData("epoch_loss_sum", "Infinity", "epoch_loss_sum")]
    [InlineData("epoch_loss_sum", "NaN", "epoch_loss_sum")]
    [InlineData("best_loss", "NaN", "best_loss")]
    [InlineData("best_loss", "-0.5", "best_loss")]
    [InlineData("best_epoch", "5", "best_epoch")]
    [InlineData("bad_epochs", "5", "bad_epochs")]
    [InlineData("train_count", "-1200", "expected a value ≥ 0")]
    [InlineData("optimizer", "adamw2", "is unknown")]
    public void Resume_EditedCheckpointWithAValidChecksum_IsRefused_NamingTheField(string key, string value, string expected)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-edited-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, ValidCheckpoint.Value);
            RewrittenFiles.EditMetadata(path, meta =>
            {
                Assert.True(meta.ContainsKey("mnistnet." + key), key);
                meta["mnistnet." + key] = value;
            });
            var error = Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, CheckpointOptions).Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains(expected, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Resume_OnAnotherTrainingSet_Throws()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, ValidCheckpoint.Value);
            Trainer<float> trainer = Trainer<float>.Resume(path, CheckpointOptions);
            ArgumentException ex = Assert.Throws<ArgumentException>(() => trainer.Fit(Dev, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Contains("1200", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly TrainingOptions CheckpointOptions = new() { Epochs = 2, BatchSize = 300, Seed = 1 };

    private static readonly Lazy<byte[]> ValidCheckpoint = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-valid-{Guid.NewGuid():N}.safetensors");
        try
        {
            var trainer = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 300, Seed = 1 });
            trainer.Fit(Train);
            trainer.SaveCheckpoint(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    });

    private static DenseNetwork<float> Run(TrainingOptions options)
    {
        var net = new DenseNetwork<float>([784, 40, 10], seed: 7);
        new Trainer<float>(net, new Momentum<float>(0.05, 0.9, nesterov: true), options).Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
        return net;
    }

    internal static void AssertSameParameters<T>(Network<T> expected, Network<T> actual)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Parameters.Count, actual.Parameters.Count);
        for (int p = 0; p < expected.Parameters.Count; p++)
        {
            Assert.True(TestData.SameBits(expected.Parameters[p].Value, actual.Parameters[p].Value), $"{expected.Parameters[p].Name} differs");
        }
    }

    /// <summary>The constant schedule, telling <paramref name="onFactor"/> every (epoch, step, total steps) the trainer asks for.</summary>
    internal sealed class RecordingSchedule(Action<int, long, long> onFactor) : LearningRateSchedule
    {
        public override string Name => "recording";

        public override double Factor(int epoch, long step, long totalSteps)
        {
            onFactor(epoch, step, totalSteps);
            return 1;
        }
    }

    private sealed class SynchronousProgress(Action<EpochReport> report) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => report(value);
    }
}
