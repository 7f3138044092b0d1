namespace MnistNet.TestSupport;

/// <summary>Finds the repository's bundled MNIST files from a test's binaries.</summary>
public static class BundledData
{
    /// <summary>Gets the data/mnist folder above the test binaries (the repository's bundled copy).</summary>
    /// <exception cref="DirectoryNotFoundException">No data/mnist folder with the MNIST files is above the binaries.</exception>
    public static string MnistFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "mnist");
                if (File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte.gz")))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("The bundled data/mnist folder was not found above the test binaries.");
        }
    }

    /// <summary>Gets the path of the bundled <c>--preset cnn</c> model, data/models/cnn.safetensors, above the test binaries.</summary>
    /// <exception cref="FileNotFoundException">No data/models/cnn.safetensors is above the binaries.</exception>
    public static string CnnModel
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "models", "cnn.safetensors");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException("The bundled data/models/cnn.safetensors was not found above the test binaries.");
        }
    }
}
