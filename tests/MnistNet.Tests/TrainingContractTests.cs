using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// The optimisers', schedules' and trainer's contracts case by case: names and settings as checkpoints store them, every
/// argument check at its boundary, the early-stopping bookkeeping, and resuming on other data. Written against the
/// mutation run's survivors (tests/MnistNet.MutationTests): each test failed on at least one changed line of
/// src/MnistNet/Training.
/// </summary>
[Collection(SerialTestGroup.Name)]
public sealed class TrainingContractTests
{
    private static readonly Dataset Train = DenseNetworkTests.SyntheticDigits(300, seed: 11);
    private static readonly Dataset Dev = DenseNetworkTests.SyntheticDigits(100, seed: 12);

    [Theory]
    [InlineData("sgd", "")]
    [InlineData("momentum", "momentum=0.5 nesterov=false")]
    [InlineData("nesterov", "momentum=0.8 nesterov=true")]
    [InlineData("rmsprop", "rho=0.95 epsilon=1E-06")]
    [InlineData("adam", "beta1=0.85 beta2=0.995 epsilon=1E-07 weight_decay=0")]
    [InlineData("adamw", "beta1=0.8 beta2=0.99 epsilon=1E-06 weight_decay=0.02")]
    public void Optimizer_NameAndSettings_AreWhatTheRegistryReadsBack(string name, string settings)
    {
        Optimizer<float> optimizer = name switch
        {
            "sgd" => new Sgd<float>(0.1),
            "momentum" => new Momentum<float>(0.1, 0.5),
            "nesterov" => new Momentum<float>(0.1, 0.8, nesterov: true),
            "rmsprop" => new RmsProp<float>(0.01, 0.95, 1e-6),
            "adam" => new Adam<float>(0.01, 0.85, 0.995, 1e-7),
            _ => new Adam<float>(0.01, 0.8, 0.99, 1e-6, weightDecay: 0.02),
        };
        Assert.Equal(name, optimizer.Name);
        Dictionary<string, string> pairs = optimizer.Settings().ToDictionary();
        Assert.Equal(settings, string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}")));

        // The registry makes the same optimiser from its name and settings.
        Optimizer<float> again = Optimizers.Create<float>(name, optimizer.LearningRate, pairs);
        Assert.Equal(optimizer.GetType(), again.GetType());
        Assert.Equal(name, again.Name);
        Assert.Equal(settings, string.Join(' ', again.Settings().Select(p => $"{p.Key}={p.Value}")));
    }

    [Fact]
    public void Optimizers_Registry_NamesDefaultsAndErrors()
    {
        Assert.Equal(["adam", "adamw", "momentum", "nesterov", "rmsprop", "sgd"], Optimizers.Names.Where(n => n is "adam" or "adamw" or "momentum" or "nesterov" or "rmsprop" or "sgd"));
        Assert.Equal(Optimizers.Names.Order(StringComparer.Ordinal), Optimizers.Names);

        // Defaults: adamw decays by 0.01, adam not at all; nesterov is momentum with the look-ahead.
        Assert.Equal(0.01, Assert.IsType<Adam<float>>(Optimizers.Create<float>("adamw", 0.1)).WeightDecay);
        Assert.Equal(0.0, Assert.IsType<Adam<float>>(Optimizers.Create<float>("adam", 0.1)).WeightDecay);
        Assert.True(Assert.IsType<Momentum<float>>(Optimizers.Create<float>("nesterov", 0.1)).Nesterov);
        Assert.False(Assert.IsType<Momentum<float>>(Optimizers.Create<float>("momentum", 0.1)).Nesterov);
        Assert.Equal(0.9, Assert.IsType<RmsProp<float>>(Optimizers.Create<float>("rmsprop", 0.1)).Rho);
        Assert.IsType<Sgd<float>>(Optimizers.Create<float>("sgd", 0.1));

        var unknown = Assert.Throws<KeyNotFoundException>(() => Optimizers.Create<float>("adagrad", 0.1));
        Assert.Equal($"Unknown optimizer \"adagrad\"; known: {string.Join(", ", Optimizers.Names)}.", unknown.Message);
        Assert.Contains("known: adam, adamw, momentum, nesterov, rmsprop, sgd", unknown.Message, StringComparison.Ordinal);
        var format = Assert.Throws<FormatException>(() => Optimizers.Create<float>("adam", 0.1, new Dictionary<string, string> { ["beta2"] = "0,9" }));
        Assert.Equal("The optimizer setting beta2 = \"0,9\" is not a number.", format.Message);

        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => Optimizers.Create<float>(null!, 0.1)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => Optimizers.Register(" ", new NoFactory())).ParamName);
        Assert.Equal("factory", Assert.Throws<ArgumentNullException>(() => Optimizers.Register("mine", null!)).ParamName);
        Assert.DoesNotContain("mine", Optimizers.Names);
    }

    [Fact]
    public void Optimizer_HyperParameters_AreCheckedAtTheirBoundaries()
    {
        // Fractions in [0, 1): 0 is allowed, 1 is not.
        Assert.Equal(0.0, new Adam<float>(0.1, beta1: 0).Beta1);
        var beta1 = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, beta1: 1));
        Assert.Equal("beta1", beta1.ParamName);
        Assert.StartsWith("Expected a value in [0, 1).", beta1.Message, StringComparison.Ordinal);
        Assert.Equal("beta2", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, beta2: -0.1)).ParamName);

        var rate = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(0));
        Assert.StartsWith("The learning rate must be finite and greater than 0.", rate.Message, StringComparison.Ordinal);
        var epsilon = Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp<float>(0.1, epsilon: 0));
        Assert.Equal("epsilon", epsilon.ParamName);
        var decay = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(0.1, weightDecay: -1e-3));
        Assert.Equal("weightDecay", decay.ParamName);
        Assert.StartsWith("Expected a finite value ≥ 0.", decay.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schedules_NamesAndBoundaries()
    {
        Assert.Equal("constant", LearningRateSchedule.Constant.Name);
        Assert.Equal("cosine", LearningRateSchedule.Cosine().Name);
        Assert.Equal("step(3, 0.5)", LearningRateSchedule.StepDecay(3, 0.5).Name);

        // gamma in (0, 1]: 1 is allowed (no decay), 0 and above 1 are not.
        Assert.Equal(1.0, LearningRateSchedule.StepDecay(2, 1).Factor(9, 0, 10));
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.StepDecay(2, 0));
        Assert.StartsWith("Expected a factor in (0, 1].", zero.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.StepDecay(2, 1.5));
        var final = Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine(1.5));
        Assert.StartsWith("Expected a factor in [0, 1].", final.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Optimizer_Step_ChecksItsArguments()
    {
        var net = new DenseNetwork<float>([4, 3, 2], seed: 1);
        var adam = new Adam<float>(0.1);
        var workspace = new NetworkWorkspace<float>(net, 5);
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => adam.Step(null!, workspace, 0.1)).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentNullException>(() => adam.Step(net, null!, 0.1)).ParamName);

        // A workspace for another shape, and one for prediction only (it fits the network but holds no gradients).
        var other = new NetworkWorkspace<float>(new DenseNetwork<float>([4, 5, 2], seed: 1), 5);
        Assert.Contains("holds no gradients for", Assert.Throws<ArgumentException>(() => adam.Step(net, other, 0.1)).Message, StringComparison.Ordinal);
        var predictOnly = new NetworkWorkspace<float>(net, 5, training: false);
        Assert.Contains("holds no gradients for", Assert.Throws<ArgumentException>(() => adam.Step(net, predictOnly, 0.1)).Message, StringComparison.Ordinal);
        Assert.Equal(0, adam.Steps);
    }

    [Theory]
    [InlineData(5)]                        // the first layer's weights have another number of columns (rows equal)
    [InlineData(4)]                        // … the same shape, but the hidden layer is wider: rows and columns differ
    public void Optimizer_StateOfAnotherShape_IsRefused(int secondInputs)
    {
        var first = new DenseNetwork<float>([4, 3, 2], seed: 1);
        var adam = new Adam<float>(0.1);
        var ws = new NetworkWorkspace<float>(first, 2);
        adam.Step(first, ws, 0.1);

        var second = new DenseNetwork<float>(secondInputs == 4 ? [4, 6, 2] : [secondInputs, 3, 2], seed: 1);
        var error = Assert.Throws<ArgumentException>(() => adam.Step(second, new NetworkWorkspace<float>(second, 2), 0.1));
        Assert.StartsWith($"This optimiser's state belongs to a network of another shape than {second.Architecture}; use one optimiser per network, or Reset() it.", error.Message, StringComparison.Ordinal);

        // After Reset() the optimiser serves the other network, every element of it, on one thread or two, as a fresh one would.
        adam.Reset();
        var x = new LinearAlgebra.Matrix<float>(second.Inputs, 2);
        x[0, 0] = 1;
        x[1, 1] = -2;
        var secondWs = new NetworkWorkspace<float>(second, 2);
        second.ComputeGradients(x, [0, 1], secondWs);
        DenseNetwork<float> copy = second.Clone();
        adam.Step(second, secondWs, 0.1);
        Assert.Equal(1, adam.Steps);
        Threads.Run(1, () => new Adam<float>(0.1).Step(copy, secondWs, 0.1));
        TrainerTests.AssertSameParameters(copy, second);
        Assert.False(TestData.SameBits(copy.Parameters[0].Value, new DenseNetwork<float>(secondInputs == 4 ? [4, 6, 2] : [secondInputs, 3, 2], seed: 1).Parameters[0].Value));
    }

    [Fact]
    public void Optimizer_WithANegativeStateCount_IsRefusedAtItsFirstStep()
    {
        var net = new DenseNetwork<float>([4, 2], seed: 1);
        var error = Assert.Throws<InvalidOperationException>(() => new BrokenOptimizer(0.1).Step(net, new NetworkWorkspace<float>(net, 2), 0.1));
        Assert.Equal("BrokenOptimizer.StateCount is -1; expected a value ≥ 0.", error.Message);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("momentum")]
    [InlineData("nesterov")]
    [InlineData("rmsprop")]
    [InlineData("adam")]
    [InlineData("adamw")]
    public void Optimizer_OneThreadAndTwo_GiveTheSameBits_AndAStepAllocatesNothing(string name)
    {
        DenseNetwork<float> Run(int threads) => Threads.Run(threads, () =>
        {
            // 200 hidden units: the first weight spans several blocks of rows, which the optimiser's chunks split between threads.
            var net = new DenseNetwork<float>([784, 200, 10], seed: 3);
            Optimizer<float> optimizer = Optimizers.Create<float>(name, 0.05);
            var ws = new NetworkWorkspace<float>(net, 64);
            int[] batch = [.. Enumerable.Range(0, 64)];
            for (int step = 0; step < 3; step++)
            {
                net.ComputeGradients(Train, batch, ws);
                optimizer.Step(net, ws, 0.05);
            }

            // The parameters after these three steps are what the two runs compare (the rounds below may differ in number).
            DenseNetwork<float> afterThree = net.Clone();

            // Warm now: further steps allocate nothing, on one thread or two (in rounds: the runtime now and then charges a
            // few hundred bytes of its own to a thread, as CI once saw here); on two, the worker runs some of the update.
            long workerChunks = MnistNet.Threading.WorkerPool.Shared.WorkerChunks;
            TestData.AssertNoAllocation(steps =>
            {
                for (int step = 0; step < steps; step++)
                {
                    optimizer.Step(net, ws, 0.05);
                }
            });
            Assert.Equal(threads > 1, MnistNet.Threading.WorkerPool.Shared.WorkerChunks > workerChunks);
            return afterThree;
        });

        DenseNetwork<float> one = Run(1);
        DenseNetwork<float> two = Run(2);
        TrainerTests.AssertSameParameters(one, two);
        Assert.False(TestData.SameBits(one.Parameters[0].Value, new DenseNetwork<float>([784, 200, 10], seed: 3).Parameters[0].Value));
    }

    [Fact]
    public void UserOptimizer_WithItsOwnLoop_RunsOncePerTensor_OnTwoThreads()
    {
        // A rule written outside the library sees whole tensors, once per step, however many threads there are (only the
        // built-in element-wise rules are split into chunks across threads). The first weights, 32 × 784, are more than
        // one chunk of a built-in rule's work.
        var net = new DenseNetwork<float>([784, 32, 10], seed: 3);
        var ws = new NetworkWorkspace<float>(net, 32);
        net.ComputeGradients(Train, [.. Enumerable.Range(0, 32)], ws);
        float[][] expected = [.. net.Parameters.Select((p, i) => p.Value.AsSpan().ToArray().Select((v, k) => v - (0.5f * ws.GradientBuffers[i].AsSpan()[k])).ToArray())];
        var calls = new List<int>();
        int saved = MnistNetRuntime.MaxDegreeOfParallelism;
        try
        {
            MnistNetRuntime.MaxDegreeOfParallelism = 2;                    // (a user rule runs on the caller: no worker to check)
            new PlainLoopOptimizer(0.5, calls).Step(net, ws, 0.5);
        }
        finally
        {
            MnistNetRuntime.MaxDegreeOfParallelism = saved;
        }

        Assert.Equal(net.Parameters.Select(p => p.Value.AsSpan().Length), calls);
        for (int p = 0; p < expected.Length; p++)
        {
            Assert.True(expected[p].AsSpan().SequenceEqual(net.Parameters[p].Value.AsSpan()), net.Parameters[p].Name);
        }
    }

    [Fact]
    public void Sgd_Descend_IsThetaMinusAlphaTimesG_ForEveryParameter()
    {
        // The seed's update_params, as TwoLayerNetwork.UpdateParams applies it: θ ← θ − α·g, one fused multiply-add.
        var net = new DenseNetwork<float>([7, 5, 3], seed: 4);
        var rng = new Random(9);
        LinearAlgebra.Matrix<float>[] gradients = [.. net.Parameters.Select(p => new LinearAlgebra.Matrix<float>(p.Value.Rows, p.Value.Columns))];
        float[][] expected = new float[net.Parameters.Count][];
        for (int p = 0; p < gradients.Length; p++)
        {
            LinearAlgebra.Matrix<float> g = gradients[p], theta = net.Parameters[p].Value;
            expected[p] = new float[g.Rows * g.Columns];
            for (int r = 0; r < g.Rows; r++)
            {
                for (int c = 0; c < g.Columns; c++)
                {
                    g[r, c] = (float)(rng.NextDouble() - 0.5);
                    expected[p][(r * g.Columns) + c] = MathF.FusedMultiplyAdd(g[r, c], -0.25f, theta[r, c]);
                }
            }
        }

        Sgd<float>.Descend(net.Parameters, gradients, 0.25f);
        for (int p = 0; p < gradients.Length; p++)
        {
            LinearAlgebra.Matrix<float> theta = net.Parameters[p].Value;
            for (int r = 0; r < theta.Rows; r++)
            {
                for (int c = 0; c < theta.Columns; c++)
                {
                    Assert.Equal(expected[p][(r * theta.Columns) + c], theta[r, c]);
                }
            }
        }
    }

    [Fact]
    public void Trainer_ChecksItsArgumentsAndData()
    {
        var net = new DenseNetwork<float>([784, 6, 10], seed: 1);
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => new Trainer<float>(null!, new Sgd<float>())).ParamName);
        Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(() => new Trainer<float>(net, null!)).ParamName);
        Assert.Equal("EarlyStoppingPatience", Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer<float>(net, new Sgd<float>(), new TrainingOptions { EarlyStoppingPatience = -1 })).ParamName);
        Assert.Equal("Schedule", Assert.Throws<ArgumentNullException>(() => new Trainer<float>(net, new Sgd<float>(), new TrainingOptions { Schedule = null! })).ParamName);

        var trainer = new Trainer<float>(net, new Sgd<float>());
        CancellationToken token = TestContext.Current.CancellationToken;
        Assert.Equal("train", Assert.Throws<ArgumentNullException>(() => trainer.Fit(null!, cancellationToken: token)).ParamName);

        Dataset small = DenseNetworkTests.SyntheticDigits(10, seed: 1, side: 20);
        foreach ((Dataset? train, Dataset? dev, string param, string message) in new (Dataset?, Dataset?, string, string)[]
        {
            (small, null, "train", "The network has 784 inputs, but the images have 400 pixels."),
            (Train, small, "dev", "The network has 784 inputs, but the images have 400 pixels."),
            (Dataset.Unlabeled(new byte[784]), null, "train", "Training needs labelled images."),
            (Train, Dataset.Unlabeled(new byte[784]), "dev", "Training needs labelled images."),
            (new Dataset([], []), null, "train", "The dataset is empty."),
            (Train, new Dataset([], []), "dev", "The dataset is empty."),
        })
        {
            var error = Assert.Throws<ArgumentException>(() => trainer.Fit(train!, dev, token));
            Assert.Equal(param, error.ParamName);
            Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, trainer.Steps);
    }

    [Fact]
    public void Trainer_EarlyStoppingBookkeeping_BestIsTheFirstOfEqualLosses()
    {
        // A negligible learning rate keeps the network as it is, so every epoch's dev loss is the same: the first is the best,
        // the others are not better (not "at least as good").
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01),
            new TrainingOptions { Epochs = 3, BatchSize = 100, Seed = 1, EarlyStoppingPatience = 5, Schedule = new NegligibleSchedule() });
        TrainingResult result = trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
        Assert.Equal(1, result.BestEpoch);
        Assert.Equal([true, false, false], result.History.Select(r => r.IsBest));
        Assert.Equal(2, trainer.State.BadEpochs);
        Assert.False(double.IsNaN(result.BestDevLoss));
    }

    [Fact]
    public void Trainer_WithoutDevSet_HasNoBest_AndWithPatienceZero_KeepsNoCopy()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        var noDev = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 1, EarlyStoppingPatience = 2 });
        TrainingResult result = noDev.Fit(Train, cancellationToken: token);
        Assert.All(result.History, r => Assert.False(r.IsBest));
        Assert.Equal(0, result.BestEpoch);
        Assert.True(double.IsNaN(result.BestDevLoss));
        Assert.Null(noDev.State.Best);

        var noPatience = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 1 });
        result = noPatience.Fit(Train, Dev, token);
        Assert.True(result.History[0].IsBest);
        Assert.Null(noPatience.State.Best);
    }

    [Fact]
    public void Trainer_ResumedWithoutDevSet_EndsWithItsLastWeights_NotTheCheckpointsBest()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-best-{Guid.NewGuid():N}.ckpt");
        try
        {
            var options = new TrainingOptions { Epochs = 1, BatchSize = 100, Seed = 1, EarlyStoppingPatience = 2 };
            var trainer = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), options);
            trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
            trainer.SaveCheckpoint(path);

            // Two more epochs without a dev set: early stopping is off, so the best copy from the checkpoint is not used.
            var more = new TrainingOptions { Epochs = 3, BatchSize = 100, Seed = 1, EarlyStoppingPatience = 2 };
            Trainer<float> resumed = Trainer<float>.Resume(path, more);
            Assert.NotNull(resumed.State.Best);
            resumed.Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
            Assert.False(TestData.SameBits(resumed.State.Best![0], resumed.Network.Parameters[0].Value));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Trainer_OtherTrainingSet_IsRefusedOnlyOnceTrainingHasStarted()
    {
        CancellationToken token = TestContext.Current.CancellationToken;

        // Cancelled before its first step: nothing was trained, so another training set may be used.
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 50, Seed = 1 });
        Assert.Throws<OperationCanceledException>(() => trainer.Fit(Train, cancellationToken: new CancellationToken(canceled: true)));
        Assert.Equal(0, trainer.Steps);
        Assert.Equal(1, trainer.Fit(Dev, cancellationToken: token).Epochs);

        // Cancelled after two steps of the first epoch: the position belongs to the 300 examples.
        var started = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01),
            new TrainingOptions { Epochs = 1, BatchSize = 50, Seed = 1, Schedule = new CancelAt(2) });
        Assert.Throws<OperationCanceledException>(() => started.Fit(Train, cancellationToken: CancelAt.Token));
        Assert.Equal(2, started.Steps);
        Assert.Equal(0, started.CompletedEpochs);
        var error = Assert.Throws<ArgumentException>(() => started.Fit(Dev, cancellationToken: token));
        Assert.StartsWith("This training started on 300 examples; continue it on the same training set (got 100).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trainer_BatchSizeEqualToTheData_IsFullBatch_AndAPositionAtTheEndOfAnEpochIsRefused()
    {
        var full = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 300, Seed = 1 });
        Assert.Equal(2, full.Fit(Train, cancellationToken: TestContext.Current.CancellationToken).Steps);

        // batch_in_epoch = batches per epoch (3 of 3) with a step count that agrees with it: still not a position.
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-position-{Guid.NewGuid():N}.ckpt");
        try
        {
            var options = new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 1 };
            var trainer = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), options);
            trainer.Fit(Train, cancellationToken: TestContext.Current.CancellationToken);
            trainer.SaveCheckpoint(path);
            RewrittenFiles.EditMetadata(path, meta =>
            {
                Assert.Equal("2", meta["mnistnet.epoch"]);
                meta["mnistnet.epoch"] = "1";
                meta["mnistnet.batch_in_epoch"] = "3";
                meta["mnistnet.steps"] = "6";
            });
            var error = Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, options).Fit(Train, cancellationToken: TestContext.Current.CancellationToken));
            Assert.StartsWith("The training position (epoch 1, batch 3 of 3, step 6) does not fit 300 examples in batches of 100", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class NoFactory : IOptimizerFactory
    {
        public Optimizer<T> Create<T>(string name, double learningRate, IReadOnlyDictionary<string, string> settings)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => throw new NotSupportedException();
    }

    private sealed class BrokenOptimizer(double learningRate) : Optimizer<float>(learningRate)
    {
        public override string Name => "broken";

        public override int StateCount => -1;

        protected override void Update(Layers.Parameter<float> parameter, ReadOnlySpan<float> gradient, ReadOnlySpan<LinearAlgebra.Matrix<float>> state, float learningRate)
        {
        }
    }

    /// <summary>A rate so small (10⁻³⁰ of the base) that no weight changes by a bit.</summary>
    /// <summary>θ ← θ − η·g in a plain loop over the whole tensor, recording each call's length.</summary>
    private sealed class PlainLoopOptimizer(double learningRate, List<int> calls) : Optimizer<float>(learningRate)
    {
        public override string Name => "plain";

        protected override void Update(Layers.Parameter<float> parameter, ReadOnlySpan<float> gradient, ReadOnlySpan<LinearAlgebra.Matrix<float>> state, float learningRate)
        {
            Span<float> theta = parameter.Value.AsSpan();
            lock (calls)
            {
                calls.Add(theta.Length);
            }

            for (int i = 0; i < theta.Length; i++)
            {
                theta[i] -= learningRate * gradient[i];
            }
        }
    }

    private sealed class NegligibleSchedule : LearningRateSchedule
    {
        public override string Name => "negligible";

        public override double Factor(int epoch, long step, long totalSteps) => 1e-30;
    }

    /// <summary>The constant schedule that cancels <see cref="Token"/> once step <c>after</c> has been scheduled.</summary>
    private sealed class CancelAt(long after) : LearningRateSchedule
    {
        private static readonly CancellationTokenSource Source = new();

        public static CancellationToken Token => Source.Token;

        public override string Name => "constant";

        public override double Factor(int epoch, long step, long totalSteps)
        {
            if (step + 1 == after)
            {
                Source.Cancel();
            }

            return 1;
        }
    }
}
