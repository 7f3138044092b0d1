// The package's "ten lines", run against the package from the feed: load, train briefly, evaluate, save, load, predict.
// Also checks what the feed holds: the .nupkg with its README, licence, XML docs and no test code, and the .snupkg.
// Exits 1 with a line saying what is wrong when the package does not behave.
using System.IO.Compression;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Onnx;
using MnistNet.Reporting;
using MnistNet.Training;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: PackageConsumer <mnist folder> <output folder> <feed folder>");
    return 2;
}

string version = typeof(DenseNetwork<>).Assembly.GetName().Version!.ToString(3);
string? problem = CheckPackage(Path.Combine(args[2], $"MnistNet.{version}.nupkg"), ["README.md", "LICENSE", "lib/net10.0/MnistNet.dll", "lib/net10.0/MnistNet.xml"])
    ?? CheckPackage(Path.Combine(args[2], $"MnistNet.{version}.snupkg"), ["lib/net10.0/MnistNet.pdb"])
    ?? CheckPackage(Path.Combine(args[2], $"MnistNet.Onnx.{version}.nupkg"), ["README.md", "LICENSE", "lib/net10.0/MnistNet.Onnx.dll", "lib/net10.0/MnistNet.Onnx.xml"])
    ?? CheckPackage(Path.Combine(args[2], $"MnistNet.Reporting.{version}.nupkg"), ["README.md", "LICENSE", "fonts/Inter-LICENSE.txt", "lib/net10.0/MnistNet.Reporting.dll"]);
if (problem is not null)
{
    Console.Error.WriteLine($"error: {problem}");
    return 1;
}

var mnist = MnistDataset.Load(args[0]);
var (train, dev) = mnist.Train.Split(devCount: 1000, seed: 0);
var net = new DenseNetwork<float>([784, 64, 10], seed: 0);
var trainer = new Trainer<float>(net, new Adam<float>(0.002), new TrainingOptions { Epochs = 1, BatchSize = 128, Seed = 0 });
TrainingResult result = trainer.Fit(train, dev);
double accuracy = net.Evaluate(mnist.Test!).Accuracy;
string path = Path.Combine(args[1], "model.safetensors");
net.Save(path);
var loaded = DenseNetwork<float>.Load(path);
int[] before = net.Predict(mnist.Test!);
int[] after = loaded.Predict(mnist.Test!);
string onnx = Path.Combine(args[1], "model.onnx");
loaded.ExportOnnx(onnx);
long onnxBytes = new FileInfo(onnx).Length;
string confusion = Path.Combine(args[1], "confusion.svg");
Charts.SaveConfusionMatrix(loaded.Evaluate(mnist.Test!), confusion);
if (!File.ReadAllText(confusion).Contains("predicted class", StringComparison.Ordinal))
{
    Console.Error.WriteLine("error: the confusion matrix SVG has no axis label");
    return 1;
}

Console.WriteLine($"MnistNet {version}: {result.Epochs} epoch, test accuracy {accuracy:F4}, model {new FileInfo(path).Length} bytes, ONNX {onnxBytes} bytes");
if (onnxBytes < (784 * 64 + 64 * 10) * sizeof(float))
{
    Console.Error.WriteLine($"error: the ONNX file has {onnxBytes} bytes, fewer than the weights alone");
    return 1;
}

if (accuracy < 0.90)
{
    Console.Error.WriteLine($"error: one epoch of 784-64-10 should reach 90 % test accuracy, got {accuracy:P2}");
    return 1;
}

if (!before.AsSpan().SequenceEqual(after))
{
    Console.Error.WriteLine("error: the saved and reloaded model predicts differently");
    return 1;
}

return 0;

static string? CheckPackage(string path, string[] required)
{
    if (!File.Exists(path))
    {
        return $"{path} was not packed";
    }

    using ZipArchive zip = ZipFile.OpenRead(path);
    var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
    string? missing = required.FirstOrDefault(r => !names.Contains(r));
    if (missing is not null)
    {
        return $"{Path.GetFileName(path)} has no {missing}";
    }

    string? testCode = names.FirstOrDefault(n => n.Contains("TestSupport", StringComparison.OrdinalIgnoreCase) || n.Contains("Tests", StringComparison.Ordinal));
    return testCode is null ? null : $"{Path.GetFileName(path)} ships test code: {testCode}";
}
