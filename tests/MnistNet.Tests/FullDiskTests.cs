using System.Diagnostics;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// Saves onto a real full disk: a small tmpfs mounted for the test (needs Linux and root, as CI has; elsewhere the test
/// is skipped, saying why). The save must fail with an <see cref="IOException"/> naming the user's path, leave the
/// previous file byte for byte, and leave no temporary file behind.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private readonly string _mount = Path.Combine(Path.GetTempPath(), $"mnistnet-fulldisk-{Guid.NewGuid():N}");
    private bool _mounted;

    [Fact]
    public void ModelAndCheckpointSaves_OntoAFullDisk_FailNamingThePath_KeepThePreviousFile_LeaveNoTemporaryFile()
    {
        MountSmallTmpfs(kilobytes: 2048);

        // A model and a checkpoint that fit, saved first.
        string model = Path.Combine(_mount, "model.safetensors");
        new DenseNetwork<float>([784, 16, 10], seed: 1).Save(model);
        byte[] previousModel = File.ReadAllBytes(model);
        Dataset data = DenseNetworkTests.SyntheticDigits(100, seed: 3);
        string checkpoint = Path.Combine(_mount, "run.ckpt");
        var small = new Trainer<float>(new DenseNetwork<float>([784, 16, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 50, Seed = 1 });
        small.Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        small.SaveCheckpoint(checkpoint);
        byte[] previousCheckpoint = File.ReadAllBytes(checkpoint);

        // Fill the disk but for a few kilobytes, then save larger files over both.
        string filler = Path.Combine(_mount, "filler");
        FillDisk(filler, leaveBytes: 8 << 10);
        string[] before = Directory.GetFileSystemEntries(_mount);

        var large = new DenseNetwork<float>([784, 64, 10], seed: 2);
        var modelError = Assert.Throws<IOException>(() => large.Save(model));
        Assert.Equal($"Cannot write '{model}': No space left on device.", modelError.Message);

        var bigTrainer = new Trainer<float>(large, new Adam<float>(0.01), new TrainingOptions { Epochs = 1, BatchSize = 50, Seed = 1 });
        bigTrainer.Fit(data, cancellationToken: TestContext.Current.CancellationToken);
        var checkpointError = Assert.Throws<IOException>(() => bigTrainer.SaveCheckpoint(checkpoint));
        Assert.Equal($"Cannot write '{checkpoint}': No space left on device.", checkpointError.Message);

        Assert.Equal(previousModel, File.ReadAllBytes(model));
        Assert.Equal(previousCheckpoint, File.ReadAllBytes(checkpoint));
        Assert.Equal(before.Order(), Directory.GetFileSystemEntries(_mount).Order());
        Assert.Equal(previousModel.Length, new FileInfo(model).Length);

        // Room again: the same saves succeed and the files load.
        File.Delete(filler);
        large.Save(model);
        Assert.Equal(large.Parameters[0].Value.Rows, DenseNetwork<float>.Load(model).Parameters[0].Value.Rows);
        bigTrainer.SaveCheckpoint(checkpoint);
        Assert.Equal(bigTrainer.Steps, Trainer<float>.Resume(checkpoint, new TrainingOptions { Epochs = 1, BatchSize = 50, Seed = 1 }).Steps);
    }

    public void Dispose()
    {
        if (_mounted)
        {
            Run("umount", _mount);
        }

        if (Directory.Exists(_mount))
        {
            Directory.Delete(_mount, recursive: true);
        }
    }

    private void MountSmallTmpfs(int kilobytes)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Skip("Mounting a small tmpfs needs Linux and root (CI runs as root); the save fault-injection tests cover the rest.");
        }

        Directory.CreateDirectory(_mount);
        (int code, string output) = Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", _mount);
        if (code != 0)
        {
            // Root in a container without the right to mount: say so rather than pass.
            Assert.Skip($"Cannot mount a tmpfs here (mount exit {code}: {output.Trim()}).");
        }

        _mounted = true;
    }

    private static void FillDisk(string path, long leaveBytes)
    {
        var drive = new DriveInfo(Path.GetDirectoryName(path)!);
        long fill = drive.AvailableFreeSpace - leaveBytes;
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        byte[] block = new byte[4096];
        for (long written = 0; written + block.Length <= fill; written += block.Length)
        {
            stream.Write(block);
        }

        stream.Flush(flushToDisk: true);
        Assert.InRange(new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace, 0, leaveBytes + 4096);
    }

    private static (int Code, string Output) Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using Process process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
