using System.CommandLine;
using System.Text.Json;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Networks;
using MnistNet.Onnx;
using MnistNet.Reporting;
using MnistNet.Serialization;
using MnistNet.Train;
using MnistNet.Training;

namespace MnistNet.Tool;

/// <summary>
/// The <c>mnistnet</c> command line. Exit codes: 0 done, 1 data or I/O problem, 2 usage mistake, 130 stopped by Ctrl+C.
/// Every error is one line <c>error: …</c> on standard error, never a stack trace.
/// </summary>
internal static class Cli
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            return Dispatch(args, output, error);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug, not a user's mistake: still one line, never a stack trace; the type says where to look.
            error.WriteLine($"error: unexpected {ex.GetType().Name}: {ex.Message} (please report it)");
            return 1;
        }
    }

    private static int Dispatch(string[] args, TextWriter output, TextWriter error)
    {
        // `train` takes exactly the Train sample's options, parsed by the one parser they share (TrainOptions).
        if (args.Length > 0 && args[0] == "train")
        {
            return TrainRecipe.Run(args[1..], "mnistnet train", output, error, () => Displays.ForTerminal(output), writeHistory: true);
        }

        RootCommand root = Build(output, error);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"error: {parsed.Errors[0].Message} (see mnistnet --help)");
            return 2;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("mnistnet: train, evaluate, run, report and export MnistNet digit classifiers.");

        // Listed for --help; `mnistnet train …` is dispatched before parsing (see Run).
        var train = new Command("train", "Train a network (the seed's recipe, or --preset fast|best); --save writes the model and its history. See mnistnet train --help.");
        root.Subcommands.Add(train);

        var model = new Argument<string>("model") { Description = "A model file written by mnistnet train --save or Network.Save (.safetensors)." };
        var data = new Option<string>("--data") { Description = "Folder with the MNIST IDX files (default: data/mnist here or above); its test set is used." };
        var csv = new Option<string>("--csv") { Description = "A labelled Kaggle-style CSV (label, 784 pixels) instead of --data." };
        var json = new Option<bool>("--json") { Description = "Write JSON for scripts instead of text." };
        var evaluate = new Command("evaluate", "Accuracy, loss, per-class precision/recall/F1 and the confusion matrix of a model on labelled data.")
        {
            model, data, csv, json,
        };
        evaluate.SetAction(result => Guard(error, () => Evaluate(output, result.GetValue(model)!, result.GetValue(data), result.GetValue(csv), result.GetValue(json))));
        root.Subcommands.Add(evaluate);

        var predictModel = new Argument<string>("model") { Description = model.Description };
        var images = new Argument<string[]>("images") { Description = "PNG (8/16-bit grey, RGB, RGBA, palette) or PGM files, one digit each, any size.", Arity = ArgumentArity.OneOrMore };
        var predictJson = new Option<bool>("--json") { Description = json.Description };
        var predict = new Command("predict", "Predict the digit in each picture, preprocessed as MNIST was (invert if needed, crop, fit 20×20, centre by mass in 28×28).")
        {
            predictModel, images, predictJson,
        };
        predict.SetAction(result => Guard(error, () => Predict(output, result.GetValue(predictModel)!, result.GetValue(images)!, result.GetValue(predictJson))));
        root.Subcommands.Add(predict);

        var exportModel = new Argument<string>("model") { Description = model.Description };
        var onnx = new Argument<string>("output") { Description = "The .onnx file to write (opset 17, input [N, 784], output probabilities [N, classes])." };
        var export = new Command("export", "Export a model to ONNX.") { exportModel, onnx };
        export.SetAction(result => Guard(error, () => Export(output, result.GetValue(exportModel)!, result.GetValue(onnx)!)));
        root.Subcommands.Add(export);

        var reportModel = new Argument<string>("model") { Description = model.Description };
        var folder = new Option<string>("--out") { Description = "The folder for report.html and the pictures (created if missing).", Required = true };
        var reportData = new Option<string>("--data") { Description = data.Description };
        var report = new Command("report", "Draw the training curves, confusion matrix, first-layer weights and worst mistakes into PNG/SVG files and report.html.")
        {
            reportModel, folder, reportData,
        };
        report.SetAction(result => Guard(error, () => Report(output, result.GetValue(reportModel)!, result.GetValue(folder)!, result.GetValue(reportData))));
        root.Subcommands.Add(report);
        return root;
    }

    /// <summary>Runs a command body: data and I/O problems become one line and exit code 1.</summary>
    private static int Guard(TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or NotSupportedException or JsonException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    private static int Evaluate(TextWriter output, string modelPath, string? folder, string? csv, bool json)
    {
        if (folder is not null && csv is not null)
        {
            throw new ArgumentException("Give --data or --csv, not both.");
        }

        Network<float> network = ModelFile.LoadNetwork<float>(modelPath);
        (Dataset data, string source) = LoadLabelled(folder, csv);
        Require(network, data, source);
        ClassificationMetrics metrics = network.Evaluate(data);
        if (json)
        {
            int classes = metrics.Classes;
            int[,] confusion = metrics.ConfusionMatrix();
            var document = new
            {
                Model = modelPath,
                Data = source,
                Architecture = network.Architecture,
                metrics.Count,
                metrics.Accuracy,
                metrics.Loss,
                metrics.MacroF1,
                PerClass = Enumerable.Range(0, classes).Select(c => new
                {
                    Class = c,
                    Precision = metrics.Precision[c],
                    Recall = metrics.Recall[c],
                    F1 = metrics.F1[c],
                    Support = Enumerable.Range(0, classes).Sum(p => confusion[c, p]),
                }),
                Confusion = Enumerable.Range(0, classes).Select(a => Enumerable.Range(0, classes).Select(p => confusion[a, p]).ToArray()),
            };
            output.WriteLine(JsonSerializer.Serialize(document, Json));
            return 0;
        }

        output.WriteLine($"model: {modelPath} ({network.Architecture})");
        output.WriteLine($"data: {source}: {data.Count} images");
        output.Write(metrics.ToString());
        return 0;
    }

    private static int Predict(TextWriter output, string modelPath, string[] paths, bool json)
    {
        Network<float> network = ModelFile.LoadNetwork<float>(modelPath);
        if (network.Inputs != DigitImage.Side * DigitImage.Side)
        {
            throw new ArgumentException($"{modelPath} takes {network.Inputs} inputs; pictures become {DigitImage.Side * DigitImage.Side} (28 × 28).");
        }

        var results = new List<object>();
        foreach (string path in paths)
        {
            float[] pixels = DigitImage.ToMnist(DigitImage.Load(path));
            float[] probabilities = Probabilities(network, pixels);
            int digit = Array.IndexOf(probabilities, probabilities.Max());
            if (json)
            {
                results.Add(new { Image = path, Digit = digit, Probabilities = probabilities });
            }
            else
            {
                output.WriteLine($"{path}: {digit} ({probabilities[digit]:P1})");
                output.WriteLine("  " + string.Join("  ", probabilities.Select((p, c) => $"{c}:{p:F3}")));
            }
        }

        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(results, Json));
        }

        return 0;
    }

    private static int Export(TextWriter output, string modelPath, string onnxPath)
    {
        AtomicFile.CheckWritable(onnxPath);
        Network<float> network = ModelFile.LoadNetwork<float>(modelPath);
        network.ExportOnnx(onnxPath);
        output.WriteLine($"exported: {onnxPath} ({new FileInfo(onnxPath).Length} bytes; ONNX opset {OnnxExport.Opset}, input '{OnnxExport.InputName}' [N, {network.Inputs}], output '{OnnxExport.OutputName}' [N, {network.Outputs}])");
        return 0;
    }

    private static int Report(TextWriter output, string modelPath, string folder, string? dataFolder)
    {
        // Nothing is lost: the output folder must take files before anything is drawn.
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot create the folder '{folder}' for the report ({ex.GetType().Name}).", ex);
        }

        AtomicFile.CheckWritable(Path.Combine(folder, "report.html"));
        Network<float> network = ModelFile.LoadNetwork<float>(modelPath);
        (Dataset test, string source) = LoadLabelled(dataFolder, csv: null);
        Require(network, test, source);
        var options = new ReportOptions { Title = $"MnistNet report: {Path.GetFileName(modelPath)}" };
        options.Settings.Add(new("model", modelPath));
        options.Settings.Add(new("test data", $"{source} ({test.Count} images)"));
        string historyPath = TrainingHistory.PathFor(modelPath);
        if (File.Exists(historyPath))
        {
            TrainingHistory history = TrainingHistory.Load(historyPath);
            options.History = history.Points.Select(p => new Reporting.HistoryPoint(p.Step, p.TrainLoss, p.TrainAccuracy, p.DevLoss, p.DevAccuracy)).ToList();
            options.Unit = history.Unit;
            options.Settings.Add(new("training", history.Settings));
            options.Settings.Add(new("training data", history.Data));
            options.Settings.Add(new("seed", history.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            options.Settings.Add(new("training time", $"{history.TrainingSeconds:F2} s"));
            options.Settings.Add(new("final accuracy", $"train {history.FinalTrainAccuracy:F4}{(double.IsNaN(history.FinalDevAccuracy) ? string.Empty : $", dev {history.FinalDevAccuracy:F4}")}"));
        }
        else
        {
            output.WriteLine($"note: no training history at {historyPath}; the report has no curves (mnistnet train --save writes one)");
        }

        IReadOnlyList<string> files = TrainingReport.Write(folder, network, test, options);
        foreach (string file in files)
        {
            output.WriteLine($"wrote: {file}");
        }

        return 0;
    }

    /// <summary>The probabilities a network gives one 784-pixel image.</summary>
    internal static float[] Probabilities(Network<float> network, float[] pixels)
    {
        var x = new LinearAlgebra.Matrix<float>(pixels.Length, 1);
        for (int k = 0; k < pixels.Length; k++)
        {
            x[k, 0] = pixels[k];
        }

        var workspace = new NetworkWorkspace<float>(network, 1);
        LinearAlgebra.Matrix<float> p = network.ForwardProp(x, workspace);
        return Enumerable.Range(0, p.Rows).Select(c => p[c, 0]).ToArray();
    }

    internal static (Dataset Data, string Source) LoadLabelled(string? folder, string? csv)
    {
        if (csv is not null)
        {
            return (KaggleCsv.ReadTrain(csv), csv);
        }

        string path = folder ?? DataFolders.FindDefault();
        MnistDataset mnist = MnistDataset.Load(path);
        return mnist.Test is null
            ? throw new InvalidDataException($"{path} has no test set (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte).")
            : (mnist.Test, path);
    }

    internal static void Require(Network<float> network, Dataset data, string source)
    {
        if (data.PixelsPerImage != network.Inputs)
        {
            throw new InvalidDataException($"{source} has {data.PixelsPerImage} pixels per image; the model takes {network.Inputs}.");
        }

        if (data.ClassCount > network.Outputs)
        {
            throw new InvalidDataException($"{source} has labels up to {data.ClassCount - 1}; the model has {network.Outputs} classes.");
        }
    }
}
