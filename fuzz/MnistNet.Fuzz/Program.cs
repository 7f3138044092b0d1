using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;
using SharpFuzz;

// One harness per reader. A harness fails (an unhandled exception, which afl records as a crash) on anything but the
// reader's documented exceptions, and on an allocation larger than the input justifies.
if (args.Length == 2 && args[0] == "--make-corpus")
{
    Harnesses.MakeCorpus(args[1]);
    return 0;
}

if (args.Length == 3 && args[0] == "--replay" && Harnesses.All.TryGetValue(args[1], out Action<byte[]>? replayed))
{
    // Outside afl, on an uninstrumented build: what does this input do?
    byte[] input = File.ReadAllBytes(args[2]);
    long start = GC.GetAllocatedBytesForCurrentThread();
    try
    {
        replayed(input);
        Console.WriteLine($"accepted, allocated {GC.GetAllocatedBytesForCurrentThread() - start} bytes");
    }
    catch (Exception ex)
    {
        Console.WriteLine($"{ex.GetType().Name}: {ex.Message} (allocated {GC.GetAllocatedBytesForCurrentThread() - start} bytes for {input.Length})");
    }

    return 0;
}

if (args.Length != 1 || !Harnesses.All.TryGetValue(args[0], out Action<byte[]>? harness))
{
    Console.Error.WriteLine($"usage: MnistNet.Fuzz <{string.Join('|', Harnesses.All.Keys)}>   (input on stdin, as afl gives it)\n       MnistNet.Fuzz --make-corpus <folder>");
    return 2;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    byte[] input = copy.ToArray();
    long before = GC.GetAllocatedBytesForCurrentThread();
    try
    {
        harness(input);
    }
    catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException)
    {
        // The documented failures.
    }

    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    long justified = (64L * input.Length) + (32L << 20);
    if (allocated > justified)
    {
        throw new InvalidOperationException($"allocated {allocated} bytes for a {input.Length}-byte input");
    }
});
return 0;

internal static class Harnesses
{
    public static readonly Dictionary<string, Action<byte[]>> All = new(StringComparer.Ordinal)
    {
        ["idx"] = input => IdxReader.Read(new MemoryStream(input), "fuzz.idx"),
        ["idx-gzip"] = input => IdxReader.Read(new MemoryStream([0x1F, 0x8B, .. input]), "fuzz.idx.gz"),
        ["csv"] = input => KaggleCsv.Read(new StreamReader(new MemoryStream(input)), labelled: true, "fuzz.csv"),
        ["model"] = input => ViaFile(input, path => DenseNetwork<float>.Load(path)),
        ["checkpoint"] = input => ViaFile(input, path => Trainer<float>.Resume(path, new TrainingOptions { Epochs = 2, BatchSize = 32, Seed = 1 })),
        ["png"] = input => DigitImage.ToMnist(DigitImage.Decode(input, "fuzz.png")),
        ["json"] = input => JsonBody(input),
    };

    private static void ViaFile(byte[] input, Action<string> load)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mnistnet-fuzz-{Environment.ProcessId}.safetensors");
        File.WriteAllBytes(path, input);
        try
        {
            load(path);
        }
        catch (ArgumentException ex) when (ex.ParamName == "options")
        {
            // A checkpoint made with other settings: the documented refusal.
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>/api/predict's JSON body: the endpoint's own parser, then the preprocessing.</summary>
    private static void JsonBody(byte[] input) => DigitImage.ToMnist(MnistNet.Web.DigitApp.FromJson(input));

    /// <summary>Small seed files for every harness, made with the library's own writers.</summary>
    public static void MakeCorpus(string folder)
    {
        void Write(string target, string name, byte[] bytes)
        {
            Directory.CreateDirectory(Path.Combine(folder, target));
            File.WriteAllBytes(Path.Combine(folder, target, name), bytes);
        }

        byte[] pixels = [.. Enumerable.Range(0, 2 * 28 * 28).Select(i => (byte)(i * 37 % 256))];
        using (var raw = new MemoryStream())
        {
            IdxWriter.Write(raw, IdxFile.Create<byte>([2, 28, 28], pixels));
            Write("idx", "images.idx", raw.ToArray());
        }

        using (var gz = new MemoryStream())
        {
            using (var zip = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            {
                IdxWriter.Write(zip, IdxFile.Create<byte>([3], [7, 2, 1]));
            }

            Write("idx-gzip", "labels.gz", gz.ToArray()[2..]);                 // the harness adds the 2-byte signature
        }

        Write("csv", "train.csv", System.Text.Encoding.ASCII.GetBytes("label," + string.Join(',', Enumerable.Range(0, 784).Select(i => $"pixel{i}")) + "\n3," + string.Join(',', Enumerable.Range(0, 784).Select(i => i % 200)) + "\n"));
        string temp = Path.Combine(Path.GetTempPath(), $"mnistnet-corpus-{Environment.ProcessId}.safetensors");
        var net = new DenseNetwork<float>([16, 4, 3], seed: 1);
        net.Save(temp);
        Write("model", "tiny.safetensors", File.ReadAllBytes(temp));
        var data = new Dataset(new byte[4 * 784], [0, 1, 2, 1]);
        var trainer = new Trainer<float>(new DenseNetwork<float>([784, 4, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 32, Seed = 1 });
        trainer.Fit(data);
        MnistNet.Serialization.Checkpoint.Save(trainer, temp);
        Write("checkpoint", "tiny.safetensors", File.ReadAllBytes(temp));
        File.Delete(temp);
        float[] digit = new float[28 * 28];
        for (int y = 6; y < 22; y++)
        {
            digit[(y * 28) + 14] = 1;
        }

        Write("png", "one.png", new GreyImage(28, 28, digit).ToPng());
        Write("json", "one.json", System.Text.Encoding.ASCII.GetBytes("{\"pixels\": [" + string.Join(',', digit.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]}"));
    }
}
