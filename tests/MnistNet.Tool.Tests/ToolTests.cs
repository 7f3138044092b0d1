using System.Text.Json;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Tool;

namespace MnistNet.Tool.Tests;

/// <summary>One small model trained by <c>mnistnet train</c>, shared by the tests that need a model.</summary>
public sealed class TrainedByTool : IDisposable
{
    public TrainedByTool()
    {
        Folder = Directory.CreateTempSubdirectory("mnistnet-tool-").FullName;
        ModelPath = Path.Combine(Folder, "model.safetensors");
        (ExitCode, Output, Error) = Mnistnet.Run("train", "--preset", "fast", "--epochs", "1", "--layers", "32", "--data", BundledData.MnistFolder, "--save", ModelPath);
    }

    public string Folder { get; }

    public string ModelPath { get; }

    public int ExitCode { get; }

    public string Output { get; }

    public string Error { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

internal static class Mnistnet
{
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ToolTestGroup : ICollectionFixture<TrainedByTool>
{
    public const string Name = "tool";
}

[Collection(ToolTestGroup.Name)]
public sealed class ToolTests(TrainedByTool trained) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-tool-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Train_SavesTheModelAndItsHistory_PrintsPlainEpochLinesWhenRedirected()
    {
        Assert.True(trained.ExitCode == 0, trained.Error);
        Assert.Contains("epoch 1/1: train loss", trained.Output);
        Assert.Contains("result: train 0.9", trained.Output);
        Assert.True(File.Exists(trained.ModelPath));
        string historyPath = Path.Combine(trained.Folder, "model.history.json");
        using JsonDocument history = JsonDocument.Parse(File.ReadAllText(historyPath));
        JsonElement points = history.RootElement.GetProperty("points");
        Assert.Equal(1, points.GetArrayLength());
        Assert.InRange(points[0].GetProperty("train_accuracy").GetDouble(), 0.85, 1);
        Assert.InRange(points[0].GetProperty("dev_accuracy").GetDouble(), 0.85, 1);
        Assert.Equal("784-32-10", history.RootElement.GetProperty("architecture").GetString());
        Assert.Equal("epoch", history.RootElement.GetProperty("unit").GetString());
    }

    [Fact]
    public void Evaluate_Json_MatchesTheLibrarysEvaluation()
    {
        (int code, string output, string error) = Mnistnet.Run("evaluate", trained.ModelPath, "--data", BundledData.MnistFolder, "--json");
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        var network = DenseNetwork<float>.Load(trained.ModelPath);
        var metrics = network.Evaluate(MnistDataset.Load(BundledData.MnistFolder).Test!);
        Assert.Equal(metrics.Accuracy, json.RootElement.GetProperty("accuracy").GetDouble());
        Assert.Equal(10000, json.RootElement.GetProperty("count").GetInt32());
        Assert.Equal(10, json.RootElement.GetProperty("per_class").GetArrayLength());
        int total = json.RootElement.GetProperty("confusion").EnumerateArray().Sum(row => row.EnumerateArray().Sum(v => v.GetInt32()));
        Assert.Equal(10000, total);
    }

    [Fact]
    public void Evaluate_Text_HasTheAccuracyTableAndConfusionMatrix()
    {
        (int code, string output, _) = Mnistnet.Run("evaluate", trained.ModelPath, "--data", BundledData.MnistFolder);
        Assert.Equal(0, code);
        Assert.Contains("accuracy 0.9", output);
        Assert.Contains("precision", output);
        Assert.Contains("true\\pred", output);
    }

    [Fact]
    public void Predict_PicturesOfTestDigits_AgreeWithTheModelOnTheOriginals()
    {
        var network = DenseNetwork<float>.Load(trained.ModelPath);
        Dataset test = MnistDataset.Load(BundledData.MnistFolder).Test!.Slice(0, 20);
        int[] expected = network.Predict(test);
        Matrix<float> x = test.Pixels<float>();
        var paths = new List<string>();
        for (int j = 0; j < test.Count; j++)
        {
            // Dark ink on a white page, 3× larger, with a margin: a picture someone drew or scanned.
            const int scale = 3, side = 28 * scale + 20;
            float[] page = Enumerable.Repeat(1f, side * side).ToArray();
            for (int y = 0; y < 28 * scale; y++)
            {
                for (int xx = 0; xx < 28 * scale; xx++)
                {
                    page[((y + 10) * side) + xx + 10] = 1 - x[((y / scale) * 28) + (xx / scale), j];
                }
            }

            string path = Path.Combine(_folder, $"digit{j}.png");
            File.WriteAllBytes(path, new GreyImage(side, side, page).ToPng());
            paths.Add(path);
        }

        (int code, string output, string error) = Mnistnet.Run(["predict", trained.ModelPath, .. paths, "--json"]);
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        int agree = 0;
        for (int j = 0; j < test.Count; j++)
        {
            JsonElement result = json.RootElement[j];
            double[] probabilities = result.GetProperty("probabilities").EnumerateArray().Select(p => p.GetDouble()).ToArray();
            Assert.Equal(10, probabilities.Length);
            Assert.Equal(1, probabilities.Sum(), 4);
            agree += result.GetProperty("digit").GetInt32() == expected[j] ? 1 : 0;
        }

        Assert.True(agree >= 18, $"{agree} of 20 pictures agree with the model's prediction on the original image");

        (code, output, _) = Mnistnet.Run("predict", trained.ModelPath, paths[0]);
        Assert.Equal(0, code);
        Assert.StartsWith($"{paths[0]}: {expected[0]} (", output);
    }

    [Fact]
    public void Export_WritesAnOnnxFile_AndRefusesAMissingFolderNamingIt()
    {
        string onnx = Path.Combine(_folder, "model.onnx");
        (int code, string output, string error) = Mnistnet.Run("export", trained.ModelPath, onnx);
        Assert.True(code == 0, error);
        Assert.Contains("opset 17", output);
        Assert.True(new FileInfo(onnx).Length > 784 * 32 * 4);

        string missing = Path.Combine(_folder, "missing", "model.onnx");
        (code, _, error) = Mnistnet.Run("export", trained.ModelPath, missing);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: Cannot write '{missing}': the folder", error);
        Assert.Contains("does not exist", error);
    }

    [Fact]
    public void Report_DrawsTheRunsPicturesFromTheModelAndItsHistory()
    {
        string folder = Path.Combine(_folder, "report");
        (int code, string output, string error) = Mnistnet.Run("report", trained.ModelPath, "--out", folder, "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        foreach (string name in new[] { "loss.png", "loss.svg", "accuracy.png", "confusion.png", "weights.png", "mistakes.png", "report.html" })
        {
            Assert.True(File.Exists(Path.Combine(folder, name)), name);
            Assert.Contains(name, output);
        }

        string html = File.ReadAllText(Path.Combine(folder, "report.html"));
        Assert.Contains("784-32-10", html);
        Assert.Contains("adam lr 0.002, batch 128", html);
    }

    [Fact]
    public void Report_IntoAFolderThatCannotBeMade_FailsFirst_NamingIt()
    {
        string blocker = Path.Combine(_folder, "file");
        File.WriteAllText(blocker, "not a folder");
        string folder = Path.Combine(blocker, "report");
        (int code, string output, string error) = Mnistnet.Run("report", trained.ModelPath, "--out", folder, "--data", BundledData.MnistFolder);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: Cannot create the folder '{folder}'", error);
        Assert.Empty(output);
    }

    [Theory]
    [InlineData("evaluate")]
    [InlineData("predict")]
    [InlineData("export")]
    [InlineData("report")]
    public void EveryVerb_HasHelp(string verb)
    {
        (int code, string output, _) = Mnistnet.Run(verb, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains(verb, output);
    }

    [Fact]
    public void TrainHelp_ListsTheSamplesOptions()
    {
        (int code, string output, _) = Mnistnet.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith("Usage: mnistnet train [options]", output);
        foreach (string option in new[] { "--preset", "--epochs", "--optimizer", "--save", "--checkpoint", "--resume", "--data", "--csv" })
        {
            Assert.Contains(option, output);
        }
    }

    [Theory]
    [InlineData(2, "frobnicate")]
    [InlineData(2, "evaluate")]
    [InlineData(2, "train", "--lr", "1e400")]
    [InlineData(2, "train", "--alpha", "1e39")]
    [InlineData(2, "train", "--epochs", "many")]
    [InlineData(1, "evaluate", "/no/such/model.safetensors")]
    [InlineData(1, "predict", "/no/such/model.safetensors", "x.png")]
    public void Mistakes_GiveOneErrorLine_AndTheRightExitCode(int exitCode, params string[] args)
    {
        (int code, string output, string error) = Mnistnet.Run(args);
        Assert.Equal(exitCode, code);
        Assert.StartsWith("error: ", error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", error + output);
    }

    [Fact]
    public void Train_WithArch_TrainsAConvolutionalNetwork_ThatEvaluateAndPredictLoad()
    {
        string model = Path.Combine(_folder, "cnn.safetensors");
        (int code, string output, string error) = Mnistnet.Run("train", "--arch", "conv4k5,pool,dense16", "--epochs", "1", "--data", BundledData.MnistFolder, "--save", model);
        Assert.True(code == 0, error);
        Assert.Contains("network: 1x28x28:conv4k5,pool,relu,dense16,relu,dense10 (", output);
        Assert.Equal("1x28x28:conv4k5,pool,relu,dense16,relu,dense10", MnistNet.Serialization.ModelFile.ReadMetadata(model)["architecture"]);

        (code, output, error) = Mnistnet.Run("evaluate", model, "--data", BundledData.MnistFolder, "--json");
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.InRange(json.RootElement.GetProperty("accuracy").GetDouble(), 0.9, 1);

        (code, output, error) = Mnistnet.Run("export", model, Path.Combine(_folder, "cnn.onnx"));
        Assert.True(code == 0, error);
        Assert.Contains("exported: ", output);
        Assert.True(new FileInfo(Path.Combine(_folder, "cnn.onnx")).Length > 1000);

        (code, _, error) = Mnistnet.Run("report", model, "--out", Path.Combine(_folder, "report"), "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        string page = File.ReadAllText(Path.Combine(_folder, "report", "report.html"));
        Assert.Contains("What each kernel of the first convolution responds to", page);
        Assert.True(File.Exists(Path.Combine(_folder, "report", "weights.png")));
    }

    [Fact]
    public void Train_WithAugment_SaysSoAndTrains()
    {
        (int code, string output, string error) = Mnistnet.Run("train", "--layers", "16", "--epochs", "1", "--augment", "elastic", "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        Assert.Contains("1 epochs, augmented (elastic)", output);
        Assert.Contains("result: train 0.", output);
        (code, output, error) = Mnistnet.Run("train", "--layers", "16", "--epochs", "1", "--augment", "--seed", "3", "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        Assert.Contains("1 epochs, augmented, seed 3", output);
    }

    [Theory]
    [InlineData("--arch", "conv8k4", "error: option --arch: 'conv8k4': 'same' padding needs an odd kernel size.")]
    [InlineData("--arch", "dense10,frob", "error: option --arch: unknown layer 'frob': expected conv<channels>k<size>[valid], pool, dense<units>, dropout<p> or relu.")]
    [InlineData("--layers", "32", "error: --layers and --arch cannot be used together (--arch dense256,dense128 is --layers 256,128)")]
    public void Train_BadArch_IsAUsageError(string option, string value, string message)
    {
        string[] args = option == "--layers" ? ["train", "--arch", "dense8", option, value] : ["train", option, value];
        (int code, string output, string error) = Mnistnet.Run(args);
        Assert.Equal(2, code);
        Assert.Equal(message, error.Trim());
        Assert.DoesNotContain("epoch", output);
    }

    [Fact]
    public void Train_WithInit_StartsFromThatScheme()
    {
        // Same seed, three schemes: he is the default (same bits), fan-in and glorot start elsewhere and say so.
        string Train(string name, params string[] extra)
        {
            string path = Path.Combine(_folder, name + ".safetensors");
            (int code, string output, string error) = Mnistnet.Run(["train", "--layers", "16", "--epochs", "1", "--data", BundledData.MnistFolder, "--save", path, .. extra]);
            Assert.True(code == 0, error);
            Assert.Contains("result: train 0.", output);
            if (extra.Length > 0)
            {
                Assert.Contains($"1 epochs, init {extra[1]}, seed 0,", output);
            }

            return path;
        }

        string byDefault = Train("default"), he = Train("he", "--init", "he"), fanIn = Train("fan-in", "--init", "fan-in"), glorot = Train("glorot", "--init", "glorot");
        Assert.Equal(File.ReadAllBytes(byDefault), File.ReadAllBytes(he));
        Assert.NotEqual(File.ReadAllBytes(he), File.ReadAllBytes(fanIn));
        Assert.NotEqual(File.ReadAllBytes(he), File.ReadAllBytes(glorot));
        Assert.NotEqual(File.ReadAllBytes(fanIn), File.ReadAllBytes(glorot));
    }

    [Theory]
    [InlineData("--layers", "16", "--epochs", "1")]
    [InlineData("--iterations", "2", "--hidden", "10")]
    public void Train_WithNoDevSet_ResultLineLeavesDevOut(params string[] options)
    {
        // --dev 0 trains on every training image: there is no dev accuracy to print (not "dev NaN").
        (int code, string output, string error) = Mnistnet.Run(["train", .. options, "--dev", "0", "--data", BundledData.MnistFolder]);
        Assert.True(code == 0, error);
        Assert.Contains("60000 train, 0 dev", output);
        string result = output.Split('\n').Single(l => l.StartsWith("result: ", StringComparison.Ordinal));
        Assert.Matches(@"^result: train 0\.\d{4} test 0\.\d{4} \| ", result);
    }

    [Theory]
    [InlineData("--init", "xavier", "error: option --init expects one of he, glorot, fan-in, got 'xavier'")]
    [InlineData("--resume", "x.ckpt", "error: --init cannot be used with --resume (the checkpoint holds the network's weights)")]
    public void Train_BadInit_IsAUsageError(string option, string value, string message)
    {
        string[] args = option == "--init" ? ["train", option, value] : ["train", "--init", "he", option, value];
        (int code, string output, string error) = Mnistnet.Run(args);
        Assert.Equal(2, code);
        Assert.Equal(message, error.Trim());
        Assert.DoesNotContain("epoch", output);
    }

    [Fact]
    public void Train_PresetBest_IsTheDenseStackWithDropoutAndAugmentation()
    {
        (int code, string output, string error) = Mnistnet.Run("train", "--preset", "best", "--epochs", "1", "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        Assert.Contains("network: 784:dense1024,relu,dropout0.2,dense512,relu,dropout0.2,dense10 (", output);
        Assert.Contains("adam lr 0.001, batch 128, cosine schedule, 1 epochs, augmented,", output);

        (code, output, error) = Mnistnet.Run("train", "--preset", "best", "--epochs", "1", "--augment", "off", "--data", BundledData.MnistFolder);
        Assert.True(code == 0, error);
        Assert.Contains("adam lr 0.001, batch 128, cosine schedule, 1 epochs, seed 0,", output);
    }

    [Fact]
    public void Train_WithAnUnwritableSavePath_FailsBeforeTraining_NamingThePath()
    {
        string missing = Path.Combine(_folder, "no-such-folder", "m.safetensors");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (int code, string output, string error) = Mnistnet.Run("train", "--preset", "best", "--data", BundledData.MnistFolder, "--save", missing);
        Assert.Equal(1, code);
        Assert.Contains(missing, error);
        Assert.DoesNotContain("epoch", output);
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the check must come before the 30-epoch training");

        string checkpoint = Path.Combine(_folder, "no-such-folder", "c.safetensors");
        (code, _, error) = Mnistnet.Run("train", "--preset", "fast", "--data", BundledData.MnistFolder, "--checkpoint", checkpoint);
        Assert.Equal(1, code);
        Assert.Contains(checkpoint, error);
    }

    [Fact]
    public void Evaluate_ACorruptModel_IsOneLine()
    {
        string path = Path.Combine(_folder, "broken.safetensors");
        byte[] bytes = File.ReadAllBytes(trained.ModelPath);
        bytes[^3] ^= 0x55;
        File.WriteAllBytes(path, bytes);
        (int code, _, string error) = Mnistnet.Run("evaluate", path, "--data", BundledData.MnistFolder);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains("broken.safetensors", error);
    }
}
