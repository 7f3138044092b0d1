using MnistNet.Networks;
using MnistNet.Train;
using MnistNet.Training;
using Spectre.Console;

namespace MnistNet.Tool;

/// <summary>Picks how training shows itself: live progress bars on an interactive terminal, plain lines otherwise.</summary>
internal static class Displays
{
    /// <summary>Spectre's progress prints nothing when output is redirected, so redirected runs get the sample's plain lines.</summary>
    public static ITrainingDisplay ForTerminal(TextWriter output) =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && ReferenceEquals(output, Console.Out)
            ? new ProgressDisplay()
            : new PlainDisplay(output);
}

/// <summary>A progress bar with the elapsed and remaining time; the latest epoch's figures in its description.</summary>
internal sealed class ProgressDisplay : ITrainingDisplay
{
    private TaskCompletionSource _ready = new();
    private TaskCompletionSource _done = new();
    private readonly List<string> _epochLines = [];
    private Thread? _thread;
    private ProgressTask? _task;

    public void Line(string text) => AnsiConsole.WriteLine(text);

    public void Begin(string unit, int total)
    {
        _ready = new TaskCompletionSource();
        _done = new TaskCompletionSource();
        _thread = new Thread(() => AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                _task = context.AddTask($"training: 0/{total} {unit}", maxValue: Math.Max(1, total));
                _ready.SetResult();
                _done.Task.Wait();
                _task.Value = _task.MaxValue;
                context.Refresh();
            }))
        {
            IsBackground = true,
            Name = "mnistnet progress",
        };
        _thread.Start();
        _ready.Task.Wait();
    }

    public void Iteration(TrainingProgress progress)
    {
        if (_task is not null)
        {
            _task.Value = progress.Iteration + 1;
            _task.Description = Markup.Escape($"iteration {progress.Iteration + 1}/{progress.Iterations}: accuracy {progress.Accuracy:F4}, loss {progress.Loss:F4}");
        }
    }

    public void Epoch(EpochReport report)
    {
        string dev = report.Dev is null ? string.Empty : $", dev accuracy {report.Dev.Accuracy:F4}";
        _epochLines.Add($"epoch {report.Epoch}/{report.Epochs}: train loss {report.TrainLoss:F4}{dev}{(report.IsBest ? " *" : string.Empty)}, {report.Elapsed.TotalSeconds:F2} s");
        if (_task is not null)
        {
            _task.Value = report.Epoch;
            _task.Description = Markup.Escape($"epoch {report.Epoch}/{report.Epochs}: loss {report.TrainLoss:F4}{dev}");
        }
    }

    public void End()
    {
        _done.TrySetResult();
        _thread?.Join();
        foreach (string line in _epochLines)
        {
            AnsiConsole.WriteLine(line);
        }

        _epochLines.Clear();
    }
}
