using MnistNet.Data;
using MnistNet.LinearAlgebra;

namespace MnistNet.Benchmarks;

/// <summary>The seed's full batch: the first 41 000 bundled MNIST training images (shuffled with seed 0), as a 784 × 41 000 float matrix.</summary>
internal static class SeedData
{
    public const int Columns = 41_000;

    public static (Matrix<float> X, ushort[] Labels) Load()
    {
        Dataset train = MnistDataset.Load(FindDataFolder()).Train.Shuffle(seed: 0).Slice(0, Columns);
        return (train.Pixels<float>(), train.Labels.ToArray());
    }

    public static string FindDataFolder()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist");
                if (File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte.gz")))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException("data/mnist not found; run the benchmarks from the repository.");
    }
}
