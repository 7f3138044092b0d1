using System.Text;
using MnistNet.Data;

namespace MnistNet.Train;

/// <summary>Renders grayscale images as text, side by side, one character per pixel.</summary>
internal static class AsciiArt
{
    private const string Ramp = " .:-=+*#%@";

    public static string SideBySide(Dataset images, IReadOnlyList<int> predictions)
    {
        var text = new StringBuilder();
        int width = images.ImageColumns;
        for (int i = 0; i < images.Count; i++)
        {
            string caption = $"predicted {predictions[i]}, label {images.Labels[i]}";
            text.Append(caption.PadRight(width + 2));
        }

        TrimLineEnd(text);
        text.AppendLine();
        for (int r = 0; r < images.ImageRows; r++)
        {
            for (int i = 0; i < images.Count; i++)
            {
                ReadOnlySpan<byte> row = images.Image(i).Slice(r * width, width);
                foreach (byte pixel in row)
                {
                    text.Append(Ramp[pixel * Ramp.Length / 256]);
                }

                text.Append("  ");
            }

            TrimLineEnd(text);
            text.AppendLine();
        }

        return text.ToString();
    }

    private static void TrimLineEnd(StringBuilder text)
    {
        while (text.Length > 0 && text[^1] == ' ')
        {
            text.Length--;
        }
    }
}
