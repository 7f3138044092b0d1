using System.Reflection;
using System.Security.Cryptography;

namespace MnistNet.Reporting;

/// <summary>
/// Registers the embedded Inter font with ScottPlot once per process and makes it the default. ScottPlot draws no text at
/// all, silently, when a machine has no fonts (containers, CI); with Inter embedded, every chart has its labels.
/// </summary>
internal static class EmbeddedFont
{
    /// <summary>The family name charts use.</summary>
    public const string Family = "Inter";

    private static readonly Lazy<string> Registered = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Registers the font (first call only) and returns its family name.</summary>
    public static string Ensure() => Registered.Value;

    private static string Register()
    {
        // ScottPlot loads fonts from files: extract to a folder named by the resources' content hash (shared safely by processes).
        byte[] regular = Read("Inter-Regular.ttf");
        byte[] bold = Read("Inter-Bold.ttf");
        string hash = Convert.ToHexString(SHA256.HashData([.. regular, .. bold]))[..16];
        string folder = Path.Combine(Path.GetTempPath(), "mnistnet-fonts", hash);
        Directory.CreateDirectory(folder);
        string regularPath = Extract(folder, "Inter-Regular.ttf", regular);
        string boldPath = Extract(folder, "Inter-Bold.ttf", bold);
        Extract(folder, "Inter-LICENSE.txt", Read("Inter-LICENSE.txt"));
        ScottPlot.Fonts.AddFontFile(Family, regularPath, bold: false, italic: false);
        ScottPlot.Fonts.AddFontFile(Family, boldPath, bold: true, italic: false);
        ScottPlot.Fonts.Default = Family;
        ScottPlot.Fonts.Sans = Family;
        return Family;
    }

    private static byte[] Read(string name)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"MnistNet.Reporting.{name}")
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing from MnistNet.Reporting.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Extract(string folder, string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        if (!File.Exists(path) || new FileInfo(path).Length != bytes.Length)
        {
            // Atomically, so a concurrent process never reads half a font.
            MnistNet.Serialization.AtomicFile.Write(path, stream => stream.Write(bytes));
        }

        return path;
    }
}
