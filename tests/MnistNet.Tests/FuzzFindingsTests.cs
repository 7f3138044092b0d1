using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// Every input the coverage-guided fuzzer (fuzz/run.sh) recorded as a crash or hang, replayed: each must now load or
/// fail with the reader's documented exception, without allocating more than the input justifies.
/// </summary>
public class FuzzFindingsTests
{
    public static TheoryData<string, string> Findings()
    {
        var data = new TheoryData<string, string>();
        string root = Path.Combine(AppContext.BaseDirectory, "FuzzFindings");
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(Path.GetDirectoryName(file))!, Path.GetRelativePath(root, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Findings))]
    public void FuzzFinding_LoadsOrFailsAsDocumented_WithinItsAllocationBudget(string harness, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "FuzzFindings", file));
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            Run(harness, input);
        }
        catch (InvalidDataException)
        {
            // The documented failure.
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated <= (64L * input.Length) + (1 << 20), $"{file}: allocated {allocated} bytes for {input.Length}");
    }

    private static void Run(string harness, byte[] input)
    {
        switch (harness)
        {
            case "png":
                DigitImage.ToMnist(DigitImage.Decode(input, "finding"));
                break;
            case "idx":
                IdxReader.Read(new MemoryStream(input), "finding");
                break;
            case "idx-gzip":
                IdxReader.Read(new MemoryStream([0x1F, 0x8B, .. input]), "finding");
                break;
            case "csv":
                KaggleCsv.Read(new StreamReader(new MemoryStream(input)), labelled: true, "finding");
                break;
            default:
                string path = Path.Combine(Path.GetTempPath(), $"mnistnet-finding-{Guid.NewGuid():N}.safetensors");
                File.WriteAllBytes(path, input);
                try
                {
                    if (harness == "model")
                    {
                        DenseNetwork<float>.Load(path);
                    }
                    else
                    {
                        Trainer<float>.Resume(path, new TrainingOptions { Epochs = 2, BatchSize = 32, Seed = 1 });
                    }
                }
                catch (ArgumentException ex) when (ex.ParamName == "options")
                {
                    // Made with other settings: the documented refusal.
                }
                finally
                {
                    File.Delete(path);
                }

                break;
        }
    }
}
