using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Benchmarks;

/// <summary>
/// What the training-step benchmarks share: MNIST's training set in a seeded order, a network with its workspace and Adam,
/// and one step through the trainer's door — <see cref="Network{T}.ComputeGradients(Dataset, ReadOnlySpan{int}, NetworkWorkspace{T})"/>
/// then <see cref="Optimizer{T}.Step"/> — on a given input form, number of threads and SIMD path.
/// </summary>
public abstract class TrainingStepBenchmark
{
    protected const int BatchSize = 128;
    private Dataset _data = null!;
    private int[] _order = null!;
    private Network<float> _network = null!;
    private NetworkWorkspace<float> _workspace = null!;
    private Adam<float> _adam = null!;
    private int _next;

    /// <summary>Loads the data and builds the network, its workspace and the optimiser (call from the [GlobalSetup]).</summary>
    protected void Prepare(Network<float> network, double learningRate)
    {
        _data = MnistDataset.Load(SeedData.FindDataFolder()).Train;
        _order = Enumerable.Range(0, _data.Count).ToArray();
        new Prng(0).Shuffle(_order.AsSpan());
        _network = network;
        _workspace = new NetworkWorkspace<float>(_network, BatchSize);
        _adam = new Adam<float>(learningRate);
        _ = _data.Density;
    }

    /// <summary>One training step on the next batch, with the runtime's settings restored afterwards.</summary>
    protected double Step(InputMode mode, int threads, SimdPath path)
    {
        SimdPath savedPath = MnistNetRuntime.SimdPath;
        int savedThreads = MnistNetRuntime.MaxDegreeOfParallelism;
        MnistNetRuntime.SimdPath = path;
        MnistNetRuntime.MaxDegreeOfParallelism = threads;
        try
        {
            _workspace.InputMode = mode;
            double loss = _network.ComputeGradients(_data, _order.AsSpan(_next, BatchSize), _workspace);
            _next = (_next + BatchSize) % (_order.Length - BatchSize);
            _adam.Step(_network, _workspace, _adam.LearningRate);
            return loss;
        }
        finally
        {
            MnistNetRuntime.SimdPath = savedPath;
            MnistNetRuntime.MaxDegreeOfParallelism = savedThreads;
        }
    }
}
