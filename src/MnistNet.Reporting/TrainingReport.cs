using System.Globalization;
using System.Net;
using System.Text;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Networks;
using MnistNet.Serialization;

namespace MnistNet.Reporting;

/// <summary>What goes into a report beside the network and its test data.</summary>
public sealed class ReportOptions
{
    /// <summary>Gets or sets the page title.</summary>
    public string Title { get; set; } = "MnistNet training report";

    /// <summary>Gets or sets the training history (per epoch or iteration); without it the curves are left out.</summary>
    public IReadOnlyList<HistoryPoint>? History { get; set; }

    /// <summary>Gets or sets what a history step is: "epoch" or "iteration".</summary>
    public string Unit { get; set; } = "epoch";

    /// <summary>Gets the run's settings and figures shown as a table (name, value), in order.</summary>
    public IList<KeyValuePair<string, string>> Settings { get; } = [];

    /// <summary>Gets or sets how many mistakes the gallery shows.</summary>
    public int Mistakes { get; set; } = 24;
}

/// <summary>Writes a folder with every picture (PNG and SVG) and one self-contained, offline <c>report.html</c> that shows them.</summary>
public static class TrainingReport
{
    /// <summary>Writes the report into <paramref name="folder"/> (created if missing); returns the paths written, report.html last.</summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="network">The trained network.</param>
    /// <param name="test">Labelled test data.</param>
    /// <param name="options">History, settings and title.</param>
    /// <returns>The files written.</returns>
    /// <exception cref="IOException">A file cannot be written; the message names it.</exception>
    public static IReadOnlyList<string> Write(string folder, Network<float> network, Dataset test, ReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(test);
        options ??= new ReportOptions();
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        var sections = new StringBuilder();
        ClassificationMetrics metrics = network.Evaluate(test);

        void Picture(string name, string heading, string caption, Action<string> draw)
        {
            foreach (string extension in new[] { ".png", ".svg" })
            {
                string path = Path.Combine(folder, name + extension);
                draw(path);
                written.Add(path);
            }

            sections.Append(CultureInfo.InvariantCulture, $"<section><h2>{Html(heading)}</h2><p>{Html(caption)} <a href=\"{name}.svg\">SVG</a></p><img src=\"{name}.png\" alt=\"{Html(heading)}\"></section>\n");
        }

        if (options.History is { Count: > 0 } history)
        {
            Picture("loss", "Loss", $"Mean cross-entropy per {options.Unit}, on the training batches and the dev set.", p => Charts.SaveLoss(history, p, options.Unit));
            Picture("accuracy", "Accuracy", $"Accuracy per {options.Unit}, train and dev.", p => Charts.SaveAccuracy(history, p, options.Unit));
        }

        Picture("confusion", "Confusion matrix", "Rows are the true classes, columns the predictions; colour is the share of the row.", p => Charts.SaveConfusionMatrix(metrics, p));
        if (network.Layers[0] is MnistNet.Layers.Conv2D<float>)
        {
            Picture("weights", "First convolution's kernels", "What each kernel of the first convolution responds to: one tile per kernel, red for positive weights, blue for negative.", p => Charts.SaveFirstLayerWeights(network, p));
        }
        else if (network.Layers[0] is MnistNet.Layers.Dense<float> && IsSquare(network.Inputs))
        {
            Picture("weights", "First-layer weights", "What each hidden unit looks for: one tile per unit, red for positive weights, blue for negative.", p => Charts.SaveFirstLayerWeights(network, p));
        }

        if (IsSquare(network.Inputs))
        {
            Picture("mistakes", "Most confident mistakes", "Test images the network got wrong while most sure of itself: true → predicted, probability.", p => Charts.SaveMistakes(network, test, p, options.Mistakes));
        }

        var page = new StringBuilder();
        page.Append(CultureInfo.InvariantCulture, $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{Html(options.Title)}</title>
            <style>
            body {"{"} font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; {"}"}
            table {"{"} border-collapse: collapse; margin: 1em 0; {"}"} td, th {"{"} border: 1px solid #ccc; padding: .3em .7em; text-align: left; {"}"}
            td.num {"{"} text-align: right; font-variant-numeric: tabular-nums; {"}"} img {"{"} max-width: 100%; border: 1px solid #eee; {"}"}
            </style></head><body>
            <h1>{Html(options.Title)}</h1>
            <table><tbody>
            <tr><th>network</th><td>{Html(network.Architecture)} ({network.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters)</td></tr>
            <tr><th>test accuracy</th><td class="num">{metrics.Accuracy:P2} of {metrics.Count.ToString(CultureInfo.InvariantCulture)}</td></tr>
            <tr><th>test loss</th><td class="num">{metrics.Loss:F4}</td></tr>
            <tr><th>macro F1</th><td class="num">{metrics.MacroF1:F4}</td></tr>

            """);
        foreach ((string key, string value) in options.Settings)
        {
            page.Append(CultureInfo.InvariantCulture, $"<tr><th>{Html(key)}</th><td>{Html(value)}</td></tr>\n");
        }

        page.Append("</tbody></table>\n<h2>Per class</h2>\n<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th></tr></thead><tbody>\n");
        for (int c = 0; c < metrics.Classes; c++)
        {
            page.Append(CultureInfo.InvariantCulture, $"<tr><td>{c}</td><td class=\"num\">{metrics.Precision[c]:F4}</td><td class=\"num\">{metrics.Recall[c]:F4}</td><td class=\"num\">{metrics.F1[c]:F4}</td></tr>\n");
        }

        page.Append("</tbody></table>\n").Append(sections).Append(CultureInfo.InvariantCulture, $"<footer><p>Written by MnistNet.Reporting {typeof(TrainingReport).Assembly.GetName().Version?.ToString(3)}; works offline, no external resources.</p></footer>\n</body></html>\n");
        string html = Path.Combine(folder, "report.html");
        byte[] bytes = Encoding.UTF8.GetBytes(page.ToString());
        AtomicFile.Write(html, stream => stream.Write(bytes));
        written.Add(html);
        return written;
    }

    private static bool IsSquare(int n)
    {
        int side = (int)Math.Round(Math.Sqrt(n));
        return side * side == n;
    }

    private static string Html(string text) => WebUtility.HtmlEncode(text);
}
