using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Serialization;
using ScottPlot;

namespace MnistNet.Reporting;

/// <summary>One row of a training history, as <c>mnistnet train --save</c> records it.</summary>
/// <param name="Step">Epochs (or, for the seed's full-batch recipe, iterations) completed.</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy.</param>
/// <param name="DevLoss">Dev loss, if there is a dev set.</param>
/// <param name="DevAccuracy">Dev accuracy, if there is a dev set.</param>
public sealed record HistoryPoint(int Step, double TrainLoss, double TrainAccuracy, double? DevLoss, double? DevAccuracy);

/// <summary>
/// The pictures of a training run, each written as PNG or SVG (chosen by the path's extension) with an embedded font:
/// training curves, the confusion matrix, the first layer's weights and the most confident mistakes.
/// Files are written atomically; a failed write leaves any previous file intact.
/// </summary>
public static class Charts
{
    /// <summary>Writes loss per step, train and dev, to <paramref name="path"/> (.png or .svg).</summary>
    /// <param name="history">The rows, in order (at least one).</param>
    /// <param name="path">The picture to write.</param>
    /// <param name="unit">What a step is ("epoch" or "iteration"), for the x axis.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentException">The history is empty, or the extension is neither .png nor .svg.</exception>
    public static void SaveLoss(IReadOnlyList<HistoryPoint> history, string path, string unit = "epoch", int width = 800, int height = 450) =>
        SaveCurves(history, path, unit, width, height, "Loss", "cross-entropy", p => p.TrainLoss, p => p.DevLoss);

    /// <summary>Writes accuracy per step, train and dev, to <paramref name="path"/> (.png or .svg).</summary>
    /// <param name="history">The rows, in order (at least one).</param>
    /// <param name="path">The picture to write.</param>
    /// <param name="unit">What a step is ("epoch" or "iteration"), for the x axis.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <exception cref="ArgumentException">The history is empty, or the extension is neither .png nor .svg.</exception>
    public static void SaveAccuracy(IReadOnlyList<HistoryPoint> history, string path, string unit = "epoch", int width = 800, int height = 450) =>
        SaveCurves(history, path, unit, width, height, "Accuracy", "accuracy", p => p.TrainAccuracy, p => p.DevAccuracy);

    /// <summary>Writes the confusion matrix as a heat map with the count in every cell (rows: true class; columns: predicted).</summary>
    /// <param name="metrics">Metrics from <see cref="Network{T}.Evaluate"/>.</param>
    /// <param name="path">The picture to write (.png or .svg).</param>
    /// <param name="size">Width and height in pixels.</param>
    public static void SaveConfusionMatrix(ClassificationMetrics metrics, string path, int size = 700)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        int classes = metrics.Classes;
        int[,] confusion = metrics.ConfusionMatrix();
        double[,] shares = new double[classes, classes];
        for (int a = 0; a < classes; a++)
        {
            double row = Enumerable.Range(0, classes).Sum(p => confusion[a, p]);
            for (int p = 0; p < classes; p++)
            {
                // Colour by the share of the true class, so mistakes show against the diagonal; log-scaled for contrast.
                shares[a, p] = row == 0 ? 0 : Math.Log10(1 + (999 * confusion[a, p] / row)) / 3;
            }
        }

        Plot plot = NewPlot();
        // ScottPlot's Blues runs from dark (0) to white (1): colour by 1 − share, so that large counts are dark.
        double[,] shade = new double[classes, classes];
        for (int a = 0; a < classes; a++)
        {
            for (int p = 0; p < classes; p++)
            {
                shade[a, p] = 1 - shares[a, p];
            }
        }

        var heatmap = plot.Add.Heatmap(shade);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        for (int a = 0; a < classes; a++)
        {
            for (int p = 0; p < classes; p++)
            {
                var text = plot.Add.Text(confusion[a, p].ToString(System.Globalization.CultureInfo.InvariantCulture), p, classes - 1 - a);
                text.LabelFontSize = classes <= 10 ? 14 : 9;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.Alignment = Alignment.MiddleCenter;
                text.LabelFontColor = shares[a, p] > 0.6 ? Colors.White : Colors.Black;
                text.LabelFontName = EmbeddedFont.Family;
            }
        }

        double[] ticks = Enumerable.Range(0, classes).Select(c => (double)c).ToArray();
        string[] labels = Enumerable.Range(0, classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, labels);
        plot.Axes.Left.SetTicks(ticks.Select(t => classes - 1 - t).ToArray(), labels);
        plot.Title($"Confusion matrix ({metrics.Count} examples, accuracy {metrics.Accuracy:P2})");
        plot.XLabel("predicted class");
        plot.YLabel("true class");
        plot.Axes.SetLimits(-0.5, classes - 0.5, -0.5, classes - 0.5);
        plot.HideGrid();
        Save(plot, path, size, size);
    }

    /// <summary>
    /// Writes the first layer's weights as one square tile per unit (diverging colours: red positive, blue negative, white
    /// zero): for a dense first layer, each hidden unit's weights over the image; for a convolution, each kernel (of the
    /// first input channel).
    /// </summary>
    /// <param name="network">A network whose first layer is a convolution, or dense with a square number of inputs (784 = 28 × 28).</param>
    /// <param name="path">The picture to write (.png or .svg).</param>
    /// <param name="maxTiles">The most units drawn (the first ones).</param>
    /// <param name="width">Width in pixels.</param>
    /// <exception cref="ArgumentException">The first layer is neither, or a dense layer's inputs are not a square image.</exception>
    public static void SaveFirstLayerWeights(Network<float> network, string path, int maxTiles = 64, int width = 900)
    {
        ArgumentNullException.ThrowIfNull(network);
        Matrix<float> w;
        int side, units;
        Conv2D<float>? conv = network.Layers[0] as Conv2D<float>;
        if (conv is not null)
        {
            (w, side, units) = (conv.Weight.Value, conv.KernelSize, conv.OutChannels);
        }
        else if (network.Layers[0] is Dense<float> dense)
        {
            side = (int)Math.Round(Math.Sqrt(dense.InputSize));
            if (side * side != dense.InputSize)
            {
                throw new ArgumentException($"The first layer takes {dense.InputSize} inputs, not a square image.", nameof(network));
            }

            (w, units) = (dense.Weight.Value, dense.OutputSize);
        }
        else
        {
            throw new ArgumentException($"The first layer of {network.Architecture} is neither dense nor a convolution.", nameof(network));
        }

        int tiles = Math.Min(maxTiles, units);
        int columns = (int)Math.Ceiling(Math.Sqrt(tiles));
        int rows = (tiles + columns - 1) / columns;
        int cell = side + 1;
        double[,] mosaic = new double[(rows * cell) - 1, (columns * cell) - 1];
        for (int r = 0; r < mosaic.GetLength(0); r++)
        {
            for (int c = 0; c < mosaic.GetLength(1); c++)
            {
                mosaic[r, c] = double.NaN;
            }
        }

        double scale = 0;
        for (int h = 0; h < tiles; h++)
        {
            foreach (float v in w.Row(h)[..(side * side)])
            {
                scale = Math.Max(scale, Math.Abs(v));
            }
        }

        for (int h = 0; h < tiles; h++)
        {
            int top = h / columns * cell;
            int left = h % columns * cell;
            Span<float> row = w.Row(h);
            for (int k = 0; k < side * side; k++)
            {
                mosaic[top + (k / side), left + (k % side)] = row[k];
            }
        }

        Plot plot = NewPlot();
        var heatmap = plot.Add.Heatmap(mosaic);
        heatmap.Colormap = new ScottPlot.Colormaps.Balance();
        heatmap.ManualRange = new ScottPlot.Range(-scale, scale);
        heatmap.NaNCellColor = Colors.White;
        plot.Add.ColorBar(heatmap);
        plot.HideAxesAndGrid();
        plot.Title(conv is not null
            ? $"First convolution's kernels: {tiles} of {units} ({side} × {side}{(conv.InChannels > 1 ? ", input channel 0" : string.Empty)}, red > 0 > blue)"
            : $"First-layer weights: {tiles} of {units} hidden units ({side} × {side} tiles, red > 0 > blue)");
        Save(plot, path, width, (int)(width * (double)mosaic.GetLength(0) / mosaic.GetLength(1)) + 60);
    }

    /// <summary>Writes the test images the network got wrong with the highest confidence, each with its label, prediction and probability.</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="data">Labelled square images (MNIST's 28 × 28).</param>
    /// <param name="path">The picture to write (.png or .svg).</param>
    /// <param name="count">How many mistakes to show at most.</param>
    /// <param name="width">Width in pixels.</param>
    /// <returns>The number of mistakes shown.</returns>
    public static int SaveMistakes(Network<float> network, Dataset data, string path, int count = 24, int width = 900)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        IReadOnlyList<Mistake> mistakes = Mistakes.MostConfident(network, data, count);
        int side = (int)Math.Round(Math.Sqrt(data.PixelsPerImage));
        int columns = Math.Clamp(mistakes.Count, 1, 8);
        int rows = Math.Max(1, (mistakes.Count + columns - 1) / columns);
        int cellW = side + 2;
        int cellH = side + 10;                               // room for the caption under each image
        double[,] mosaic = new double[rows * cellH, (columns * cellW) - 2];
        for (int r = 0; r < mosaic.GetLength(0); r++)
        {
            for (int c = 0; c < mosaic.GetLength(1); c++)
            {
                mosaic[r, c] = double.NaN;
            }
        }

        Plot plot = NewPlot();
        Matrix<float> x = data.Pixels<float>();
        for (int i = 0; i < mistakes.Count; i++)
        {
            Mistake m = mistakes[i];
            int top = i / columns * cellH;
            int left = i % columns * cellW;
            for (int k = 0; k < data.PixelsPerImage; k++)
            {
                mosaic[top + (k / side), left + (k % side)] = x[k, m.Index];
            }
        }

        var heatmap = plot.Add.Heatmap(mosaic);
        heatmap.Colormap = new ScottPlot.Colormaps.GrayscaleReversed();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.NaNCellColor = Colors.White;
        heatmap.Extent = new CoordinateRect(0, mosaic.GetLength(1), 0, mosaic.GetLength(0));
        for (int i = 0; i < mistakes.Count; i++)
        {
            Mistake m = mistakes[i];
            double centreX = (i % columns * cellW) + (side / 2.0);
            double captionY = mosaic.GetLength(0) - ((i / columns * cellH) + side + 5);
            var text = plot.Add.Text($"{m.Label}→{m.Predicted} {m.Probability:P0}", centreX, captionY);
            text.LabelFontSize = 12;
            text.LabelAlignment = Alignment.MiddleCenter;
                text.Alignment = Alignment.MiddleCenter;
            text.LabelFontName = EmbeddedFont.Family;
        }

        plot.HideAxesAndGrid();
        plot.Title(mistakes.Count == 0 ? "No mistakes" : $"Most confident mistakes: true → predicted, probability ({mistakes.Count} shown)");
        Save(plot, path, width, (int)(width * (double)mosaic.GetLength(0) / mosaic.GetLength(1)) + 60);
        return mistakes.Count;
    }

    private static void SaveCurves(IReadOnlyList<HistoryPoint> history, string path, string unit, int width, int height, string title, string axis, Func<HistoryPoint, double> train, Func<HistoryPoint, double?> dev)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
        {
            throw new ArgumentException("The history has no rows.", nameof(history));
        }

        Plot plot = NewPlot();
        double[] steps = history.Select(p => (double)p.Step).ToArray();
        var trainLine = plot.Add.Scatter(steps, history.Select(train).ToArray());
        trainLine.LegendText = "train";
        trainLine.LineWidth = 2;
        if (history.All(p => dev(p) is not null))
        {
            var devLine = plot.Add.Scatter(steps, history.Select(p => dev(p)!.Value).ToArray());
            devLine.LegendText = "dev";
            devLine.LineWidth = 2;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(title);
        plot.XLabel(unit);
        plot.YLabel(axis);
        plot.ShowLegend();
        Save(plot, path, width, height);
    }

    private static Plot NewPlot()
    {
        string family = EmbeddedFont.Ensure();
        var plot = new Plot();
        plot.Font.Set(family);
        return plot;
    }

    internal static void Save(Plot plot, string path, int width, int height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 16);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        byte[] bytes = extension switch
        {
            ".png" => plot.GetImageBytes(width, height, ImageFormat.Png),
            ".svg" => System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(width, height)),
            _ => throw new ArgumentException($"'{path}': pictures are written as .png or .svg.", nameof(path)),
        };
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
