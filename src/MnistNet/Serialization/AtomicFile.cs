namespace MnistNet.Serialization;

/// <summary>
/// Writes files so that a failure never leaves a half-written file or loses the previous one: the bytes go to a
/// temporary file in the same folder, are flushed to disk, and the temporary file is then renamed over the target.
/// Model files, checkpoints and exports are all written this way.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> atomically with <paramref name="write"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names <paramref name="path"/>, and the previous file, if any, is intact.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable; the message names <paramref name="path"/>.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        // Stryker disable once Statement : without it Path.GetFullPath throws the same exception type for the same parameter
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string temporary = TemporaryName(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);

                // Stryker disable once all : flushing to the disk (not only to the OS) matters after a power cut, which no test can simulate
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path.GetFullPath(path), overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw Named(path, temporary, ex);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Checks, before any long work, that <see cref="Write"/> could write <paramref name="path"/>: the folder exists and
    /// takes a new file, and <paramref name="path"/> is not a folder. Leaves nothing behind.
    /// </summary>
    /// <param name="path">The file that will be written later.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file could not be written; the message names <paramref name="path"/> and says why.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable; the message names <paramref name="path"/>.</exception>
    public static void CheckWritable(string path)
    {
        // Stryker disable once Statement : without it Path.GetFullPath throws the same exception type for the same parameter
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            throw new IOException($"Cannot write '{path}': it is a folder.");
        }

        string folder = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Cannot write '{path}': the folder '{folder}' does not exist.");
        }

        string temporary = TemporaryName(path);
        try
        {
            new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose).Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The file was not created (or was deleted on close): nothing to clean up.
            throw Named(path, temporary, ex);
        }
    }

    private static string TemporaryName(string path)
    {
        string fullPath = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>The same kind of exception, with a message that names the user's path instead of the temporary file.</summary>
    private static Exception Named(string path, string temporary, Exception inner)
    {
        string why = inner switch
        {
            DirectoryNotFoundException => "the folder does not exist",
            FileNotFoundException => "the folder does not take new files (a virtual or read-only file system?)",
            UnauthorizedAccessException => "access is denied",
            // .NET appends the file's name (" : 'name'"); the message already names the user's path.
            _ => inner.Message.Replace($" : '{temporary}'", string.Empty, StringComparison.Ordinal).Replace(temporary, path, StringComparison.Ordinal).TrimEnd('.'),
        };
        string message = $"Cannot write '{path}': {why}.";
        return inner switch
        {
            DirectoryNotFoundException => new DirectoryNotFoundException(message, inner),
            UnauthorizedAccessException => new UnauthorizedAccessException(message, inner),
            _ => new IOException(message, inner),
        };
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The temporary file could not be created in the first place, or the folder vanished: nothing to clean up.
        }
    }
}
