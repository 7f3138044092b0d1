using FsCheck;
using FsCheck.Xunit;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>Training cancelled at any step and resumed from its checkpoint ends with the same bits as an uninterrupted run.</summary>
public class ResumePropertyTests
{
    private static readonly Dataset Data = DenseNetworkTests.SyntheticDigits(600, seed: 8);

    private static readonly Lazy<DenseNetwork<float>> MiniBatchStraight = new(() => Straight(batch: 50, epochs: 3));

    private static readonly Lazy<DenseNetwork<float>> FullBatchStraight = new(() => Straight(batch: 0, epochs: 6));

    [Property(MaxTest = 12)]
    public void MiniBatch_CancelledAtAnyStep_ResumesToTheSameBits(NonNegativeInt pick) =>
        CancelResumeAndCompare(batch: 50, epochs: 3, stepsPerEpoch: 12, pick.Get, MiniBatchStraight.Value);

    [Property(MaxTest = 8)]
    public void FullBatch_CancelledAtAnyStep_ResumesToTheSameBits(NonNegativeInt pick) =>
        CancelResumeAndCompare(batch: 0, epochs: 6, stepsPerEpoch: 1, pick.Get, FullBatchStraight.Value);

    [Property(MaxTest = 5)]
    public void ConvolutionAndDropout_CancelledAtAnyStep_ResumesToTheSameBits(NonNegativeInt pick)
    {
        // A described network (conv, pool, dropout): the checkpoint rebuilds it from its architecture, and the dropout
        // masks of the remaining steps come from the run's seed and the step number, as in the uninterrupted run.
        const string Stack = "conv3k3,pool,dense12,dropout0.5";
        Network<float> Fresh() => NetworkSpec.Build<float>(Stack, 1, 28, 28, 10, seed: 2);
        Network<float> expected = Fresh();
        new Trainer<float>(expected, new Adam<float>(0.01), Options(60, 2, LearningRateSchedule.Cosine(), checkpoint: null)).Fit(Data);

        long total = 2 * 10;
        long cancelAfter = 1 + (pick.Get % (total - 1));
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-cancel-cnn-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cancel = new CancellationTokenSource();
            var trainer = new Trainer<float>(Fresh(), new Adam<float>(0.01), Options(60, 2, new CancelAfter(LearningRateSchedule.Cosine(), cancelAfter, cancel), path));
            Assert.Throws<OperationCanceledException>(() => trainer.Fit(Data, cancellationToken: cancel.Token));
            Trainer<float> resumed = Trainer<float>.Resume(path, Options(60, 2, LearningRateSchedule.Cosine(), path));
            Assert.Equal(expected.Architecture, resumed.Network.Architecture);
            resumed.Fit(Data);
            for (int p = 0; p < expected.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(expected.Parameters[p].Value, resumed.Network.Parameters[p].Value), $"{expected.Parameters[p].Name} after cancelling at step {cancelAfter} of {total}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void CancelResumeAndCompare(int batch, int epochs, int stepsPerEpoch, int pick, DenseNetwork<float> expected)
    {
        long total = (long)epochs * stepsPerEpoch;
        long cancelAfter = 1 + (pick % (total - 1));                       // a step in [1, total − 1]
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-cancel-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var cancel = new CancellationTokenSource();
            var options = Options(batch, epochs, new CancelAfter(LearningRateSchedule.Cosine(), cancelAfter, cancel), path);
            var trainer = new Trainer<float>(new DenseNetwork<float>([784, 16, 10], seed: 2), new Adam<float>(0.01), options);
            Assert.Throws<OperationCanceledException>(() => trainer.Fit(Data, cancellationToken: cancel.Token));
            Assert.Equal(cancelAfter, trainer.Steps);

            Trainer<float> resumed = Trainer<float>.Resume(path, Options(batch, epochs, LearningRateSchedule.Cosine(), path));
            Assert.Equal(cancelAfter, resumed.Steps);
            TrainingResult result = resumed.Fit(Data);
            Assert.Equal(total, result.Steps);
            for (int p = 0; p < expected.Parameters.Count; p++)
            {
                Assert.True(TestData.SameBits(expected.Parameters[p].Value, resumed.Network.Parameters[p].Value), $"{expected.Parameters[p].Name} after cancelling at step {cancelAfter} of {total}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static DenseNetwork<float> Straight(int batch, int epochs)
    {
        var net = new DenseNetwork<float>([784, 16, 10], seed: 2);
        new Trainer<float>(net, new Adam<float>(0.01), Options(batch, epochs, LearningRateSchedule.Cosine(), checkpoint: null)).Fit(Data);
        return net;
    }

    private static TrainingOptions Options(int batch, int epochs, LearningRateSchedule schedule, string? checkpoint) =>
        new() { Epochs = epochs, BatchSize = batch, Seed = 4, Schedule = schedule, CheckpointPath = checkpoint };

    /// <summary>The cosine schedule, which also requests cancellation once step <c>after</c> has been scheduled (the step still runs).</summary>
    private sealed class CancelAfter(LearningRateSchedule inner, long after, CancellationTokenSource cancel) : LearningRateSchedule
    {
        public override string Name => inner.Name;

        public override double Factor(int epoch, long step, long totalSteps)
        {
            if (step + 1 == after)
            {
                cancel.Cancel();
            }

            return inner.Factor(epoch, step, totalSteps);
        }
    }
}
