using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MnistNet.Serialization;

namespace MnistNet.Tests;

/// <summary>
/// Edits a MnistNet file's metadata and writes it back with a valid checksum, computed here from the format's
/// definition (not by the library): how a deliberate edit, rather than damage, reaches the readers' range checks.
/// </summary>
internal static class RewrittenFiles
{
    public static void EditMetadata(string path, Action<Dictionary<string, string>> edit) => Edit(path, edit, _ => { });

    /// <summary>Edits the metadata and the tensor list (name, dtype, shape, bytes; written in list order) and re-signs the file.</summary>
    public static void Edit(string path, Action<Dictionary<string, string>> editMetadata, Action<List<(string Name, string DType, long[] Shape, byte[] Data)>> editTensors)
    {
        SafeTensors file = SafeTensors.Read(path);
        var metadata = new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal);
        editMetadata(metadata);
        List<(string Name, string DType, long[] Shape, byte[] Data)> tensors = [.. file.Tensors.OrderBy(t => t.Begin).Select(t => (t.Name, t.DType, t.Shape, file.Bytes(t).ToArray()))];
        editTensors(tensors);
        WriteSigned(path, metadata, tensors);
    }

    /// <summary>Writes a file with the given metadata and tensors and a version-2 checksum over both.</summary>
    public static void WriteSigned(string path, Dictionary<string, string> metadata, List<(string Name, string DType, long[] Shape, byte[] Data)> tensors)
    {
        metadata["checksum"] = Checksum(metadata, tensors);
        SafeTensors.Write(path, metadata, tensors);
    }

    /// <summary>Format version 2: SHA-256 of every metadata entry but the checksum (ordinal key order; key, 0, value, 0), a 1 byte, then each tensor in name order (name, dtype, shape "a,b", byte length — each followed by 0 — and the bytes).</summary>
    private static string Checksum(Dictionary<string, string> metadata, List<(string Name, string DType, long[] Shape, byte[] Data)> tensors)
    {
        var bytes = new List<byte>();
        void Text(string value) => bytes.AddRange([.. Encoding.UTF8.GetBytes(value), 0]);
        foreach (string key in metadata.Keys.Where(k => k != "checksum").Order(StringComparer.Ordinal))
        {
            Text(key);
            Text(metadata[key]);
        }

        bytes.Add(1);
        foreach ((string name, string dtype, long[] shape, byte[] data) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            Text(name);
            Text(dtype);
            Text(string.Join(',', shape.Select(d => d.ToString(CultureInfo.InvariantCulture))));
            Text(data.Length.ToString(CultureInfo.InvariantCulture));
            bytes.AddRange(data);
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()));
    }
}
