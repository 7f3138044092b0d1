using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Reporting;
using MnistNet.Training;

namespace MnistNet.Reporting.Tests;

/// <summary>A small network trained once on part of the bundled data.</summary>
public sealed class SmallModel
{
    public SmallModel()
    {
        MnistDataset mnist = MnistDataset.Load(BundledData.MnistFolder);
        Network = new DenseNetwork<float>([784, 32, 10], seed: 2);
        TrainingResult result = new Trainer<float>(Network, new Adam<float>(0.003), new TrainingOptions { Epochs = 3, BatchSize = 128, Seed = 2 })
            .Fit(mnist.Train.Slice(0, 8000), mnist.Train.Slice(8000, 1000));
        History = result.History.Select(r => new HistoryPoint(r.Epoch, r.TrainLoss, 1 - r.TrainLoss / 3, r.Dev!.Loss, r.Dev.Accuracy)).ToList();
        Test = mnist.Test!.Slice(0, 2000);
        Convolutional = NetworkSpec.Build<float>("conv8k5,pool,dense32", 1, 28, 28, 10, seed: 2);
        new Trainer<float>(Convolutional, new Adam<float>(0.003), new TrainingOptions { Epochs = 1, BatchSize = 128, Seed = 2 })
            .Fit(mnist.Train.Slice(0, 4000));
    }

    public DenseNetwork<float> Network { get; }

    /// <summary>A small convolutional network, for the pictures of its kernels.</summary>
    public Network<float> Convolutional { get; }

    public IReadOnlyList<HistoryPoint> History { get; }

    public Dataset Test { get; }
}

public sealed class ReportingTests(SmallModel model) : IClassFixture<SmallModel>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-report-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string> Pictures() => ["loss", "accuracy", "confusion", "weights", "kernels", "mistakes"];

    [Theory]
    [MemberData(nameof(Pictures))]
    public void Png_HasTheStatedSize_RealContent_AndATitleInInk(string picture)
    {
        string path = Path.Combine(_folder, picture + ".png");
        (int width, int height) = Draw(picture, path);
        GreyImage image = DigitImage.Decode(File.ReadAllBytes(path), path);
        Assert.Equal(width, image.Width);
        if (height > 0)
        {
            Assert.Equal(height, image.Height);
        }

        Assert.True(image.Pixels.Distinct().Count() > 20, "a picture, not a flat colour");

        // The title sits in the top band: with no usable font ScottPlot leaves it blank, silently.
        int inked = 0;
        for (int y = 0; y < 36; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                inked += image[x, y] < 0.5f ? 1 : 0;
            }
        }

        Assert.True(inked > 40, $"only {inked} dark pixels where the title should be");
    }

    [Theory]
    [InlineData("loss", "Loss", "epoch", "cross-entropy")]
    [InlineData("accuracy", "Accuracy", "epoch", "accuracy")]
    [InlineData("confusion", "Confusion matrix", "predicted class", "true class")]
    [InlineData("weights", "First-layer weights", "hidden units", "28 × 28")]
    [InlineData("kernels", "First convolution", "kernels: 8 of 8", "5 × 5")]
    [InlineData("mistakes", "Most confident mistakes", "→", "%")]
    public void Svg_HoldsItsTitleAndLabelsAsText(string picture, string title, string label1, string label2)
    {
        string path = Path.Combine(_folder, picture + ".svg");
        Draw(picture, path);
        string svg = File.ReadAllText(path);
        Assert.Contains("<svg", svg);
        Assert.Contains(title, svg);
        Assert.Contains(label1, svg);
        Assert.Contains(label2, svg);
    }

    [Fact]
    public void Charts_DrawWithTheEmbeddedFont_NotWhateverTheMachineHas()
    {
        // Machines without fonts (CI containers) get no text at all from ScottPlot unless a font is registered; this
        // machine may have fonts, so check that the typeface charts resolve is the embedded Inter itself.
        Charts.SaveLoss(model.History, Path.Combine(_folder, "loss.png"));
        using SkiaSharp.SKTypeface typeface = ScottPlot.Fonts.GetTypeface("Inter", bold: false, italic: false);
        Assert.Equal("Inter", typeface.FamilyName);
        Assert.Equal("Inter", ScottPlot.Fonts.Default);
    }

    [Fact]
    public void ConfusionSvg_ShowsEveryCountAsText()
    {
        string path = Path.Combine(_folder, "confusion.svg");
        Charts.SaveConfusionMatrix(model.Network.Evaluate(model.Test), path);
        string[] texts = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(path), "<text[^>]*>\\s*([^<]*?)\\s*</text>")
            .Select(m => m.Groups[1].Value).ToArray();
        int[,] confusion = model.Network.Evaluate(model.Test).ConfusionMatrix();
        for (int c = 0; c < 10; c++)
        {
            for (int p = 0; p < 10; p++)
            {
                Assert.Contains(confusion[c, p].ToString(System.Globalization.CultureInfo.InvariantCulture), texts);
            }
        }
    }

    [Fact]
    public void MostConfidentMistakes_AreWrong_SortedByConfidence_AndMatchABruteForceSearch()
    {
        IReadOnlyList<Mistake> mistakes = Mistakes.MostConfident(model.Network, model.Test, 10);
        int[] predicted = model.Network.Predict(model.Test);
        int wrong = Enumerable.Range(0, model.Test.Count).Count(i => predicted[i] != model.Test.Labels[i]);
        Assert.Equal(Math.Min(10, wrong), mistakes.Count);
        Assert.All(mistakes, m => Assert.NotEqual(m.Label, m.Predicted));
        Assert.All(mistakes, m => Assert.Equal(predicted[m.Index], m.Predicted));
        Assert.Equal(mistakes.OrderByDescending(m => m.Probability).Select(m => m.Index), mistakes.Select(m => m.Index));
        Assert.Equal(wrong, Mistakes.MostConfident(model.Network, model.Test, int.MaxValue).Count);
    }

    [Fact]
    public void Report_WritesEveryPictureAndAnOfflinePage()
    {
        var options = new ReportOptions { History = model.History, Title = "test report" };
        options.Settings.Add(new("optimizer", "adam <lr 0.003>"));
        IReadOnlyList<string> files = TrainingReport.Write(Path.Combine(_folder, "report"), model.Network, model.Test, options);
        Assert.Equal(11, files.Count);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
        string html = File.ReadAllText(files[^1]);
        foreach (string picture in new[] { "loss", "accuracy", "confusion", "weights", "mistakes" })
        {
            Assert.Contains($"src=\"{picture}.png\"", html);
        }

        Assert.Contains($"{model.Network.Evaluate(model.Test).Accuracy:P2}", html);
        Assert.Contains("adam &lt;lr 0.003&gt;", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void BadPaths_AreRefused_NamingThem()
    {
        Assert.Throws<ArgumentException>(() => Charts.SaveLoss(model.History, Path.Combine(_folder, "loss.gif")));
        string missing = Path.Combine(_folder, "missing", "loss.png");
        var error = Assert.Throws<DirectoryNotFoundException>(() => Charts.SaveLoss(model.History, missing));
        Assert.Contains(missing, error.Message);
        Assert.Throws<ArgumentException>(() => Charts.SaveAccuracy([], Path.Combine(_folder, "a.png")));
    }

    private (int Width, int Height) Draw(string picture, string path)
    {
        switch (picture)
        {
            case "loss":
                Charts.SaveLoss(model.History, path, width: 640, height: 400);
                return (640, 400);
            case "accuracy":
                Charts.SaveAccuracy(model.History, path, width: 640, height: 400);
                return (640, 400);
            case "confusion":
                Charts.SaveConfusionMatrix(model.Network.Evaluate(model.Test), path, size: 600);
                return (600, 600);
            case "weights":
                Charts.SaveFirstLayerWeights(model.Network, path, width: 700);
                return (700, 0);
            case "kernels":
                Charts.SaveFirstLayerWeights(model.Convolutional, path, width: 700);
                return (700, 0);
            default:
                Charts.SaveMistakes(model.Network, model.Test, path, width: 700);
                return (700, 0);
        }
    }
}
