namespace MnistNet.Data;

/// <summary>Checks on the paths readers are given, so that a folder passed as a file gets the documented exception.</summary>
internal static class DataFiles
{
    /// <summary>Throws <see cref="FileNotFoundException"/> when <paramref name="path"/> is a folder (opening one throws an undocumented UnauthorizedAccessException on Linux) or does not exist.</summary>
    public static void RequireFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' is a folder; expected a file.", path);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"File '{path}' not found.", path);
        }
    }
}
