using System.Globalization;
using System.Text;

namespace MnistNet.Data;

/// <summary>
/// Reads the CSV files of Kaggle's "Digit Recognizer" competition: <c>train.csv</c> (header
/// <c>label,pixel0,…,pixel783</c>, then a label 0–9 and 784 values 0–255 per row) and <c>test.csv</c> (the same
/// without the label column).
/// </summary>
/// <remarks>
/// Every problem is reported as an <see cref="InvalidDataException"/> naming the file, the 1-based line and the
/// 1-based character column of the first bad field: a wrong header, a wrong field count, a value that is not an
/// integer or is out of range, an empty file, or a file with a header and no rows. Line endings may be LF or CRLF.
/// </remarks>
public static class KaggleCsv
{
    /// <summary>Pixels per image (28 × 28).</summary>
    public const int PixelCount = 784;

    /// <summary>Reads a labelled <c>train.csv</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The labelled 28 × 28 images, in file order.</returns>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Dataset ReadTrain(string path) => ReadFile(path, labelled: true);

    /// <summary>Reads an unlabelled <c>test.csv</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The unlabelled 28 × 28 images, in file order.</returns>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Dataset ReadTest(string path) => ReadFile(path, labelled: false);

    /// <summary>Reads Kaggle CSV text from <paramref name="reader"/>.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="labelled">True for the <c>train.csv</c> layout (first column <c>label</c>), false for <c>test.csv</c>.</param>
    /// <param name="sourceName">A name for error messages.</param>
    /// <returns>The images, in order.</returns>
    /// <exception cref="InvalidDataException">The text is malformed.</exception>
    public static Dataset Read(TextReader reader, bool labelled, string sourceName = "<csv>")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        int fieldCount = PixelCount + (labelled ? 1 : 0);

        string? header = reader.ReadLine();
        if (header is null || (header.Length == 0 && reader.Peek() < 0))
        {
            throw DataErrors.AtLine(sourceName, 1, 1, $"the file is empty: expected the header '{ExpectedHeaderStart(labelled)}'.");
        }

        CheckHeader(header.TrimStart('\uFEFF'), labelled, fieldCount, sourceName);

        var pixels = new List<byte[]>();
        var labels = labelled ? new List<ushort>() : null;
        int lineNumber = 1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                // A single trailing newline is normal; a blank line in the middle is not.
                if (reader.Peek() < 0)
                {
                    break;
                }

                throw DataErrors.AtLine(sourceName, lineNumber, 1, $"empty line: expected {fieldCount} comma-separated integers.");
            }

            byte[] image = new byte[PixelCount];
            int field = 0;
            int start = 0;
            while (true)
            {
                int comma = line.IndexOf(',', start);
                int end = comma < 0 ? line.Length : comma;
                if (field >= fieldCount)
                {
                    throw DataErrors.AtLine(sourceName, lineNumber, start + 1, $"too many fields: expected {fieldCount}, found at least {field + 1}.");
                }

                bool isLabel = labelled && field == 0;
                int max = isLabel ? 9 : 255;
                string name = isLabel ? "label" : $"pixel{field - (labelled ? 1 : 0)}";
                ReadOnlySpan<char> text = line.AsSpan(start, end - start).Trim();
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
                {
                    throw DataErrors.AtLine(sourceName, lineNumber, start + 1, $"field {field + 1} ({name}) is '{Shorten(text)}': expected an integer 0–{max}.");
                }

                if (value < 0 || value > max)
                {
                    throw DataErrors.AtLine(sourceName, lineNumber, start + 1, $"field {field + 1} ({name}) is {value}: expected 0–{max}.");
                }

                if (isLabel)
                {
                    labels!.Add((ushort)value);
                }
                else
                {
                    image[field - (labelled ? 1 : 0)] = (byte)value;
                }

                field++;
                if (comma < 0)
                {
                    break;
                }

                start = comma + 1;
            }

            if (field != fieldCount)
            {
                throw DataErrors.AtLine(sourceName, lineNumber, line.Length + 1, $"too few fields: expected {fieldCount}, found {field}.");
            }

            pixels.Add(image);
        }

        if (pixels.Count == 0)
        {
            throw DataErrors.AtLine(sourceName, lineNumber + 1, 1, "the file has a header but no data rows.");
        }

        byte[] all = new byte[pixels.Count * PixelCount];
        for (int i = 0; i < pixels.Count; i++)
        {
            pixels[i].CopyTo(all, i * PixelCount);
        }

        return Dataset.Trusted(all, labels?.ToArray(), 28, 28);
    }

    private static Dataset ReadFile(string path, bool labelled)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        return Read(reader, labelled, path);
    }

    private static void CheckHeader(string header, bool labelled, int fieldCount, string source)
    {
        string[] names = header.Split(',');
        int column = 1;
        for (int i = 0; i < Math.Min(names.Length, fieldCount); i++)
        {
            string expected = labelled && i == 0 ? "label" : $"pixel{i - (labelled ? 1 : 0)}";
            if (!string.Equals(names[i].Trim(), expected, StringComparison.Ordinal))
            {
                throw DataErrors.AtLine(source, 1, column, $"header field {i + 1} is '{Shorten(names[i])}': expected '{expected}' (the header should be '{ExpectedHeaderStart(labelled)}').");
            }

            column += names[i].Length + 1;
        }

        if (names.Length != fieldCount)
        {
            throw DataErrors.AtLine(source, 1, Math.Min(column, header.Length + 1), $"the header has {names.Length} fields: expected {fieldCount} ('{ExpectedHeaderStart(labelled)}').");
        }
    }

    private static string ExpectedHeaderStart(bool labelled) => labelled ? "label,pixel0,…,pixel783" : "pixel0,…,pixel783";

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 20 ? text.ToString() : string.Concat(text[..20], "…");
}
