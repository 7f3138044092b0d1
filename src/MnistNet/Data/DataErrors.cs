namespace MnistNet.Data;

/// <summary>
/// Builds the <see cref="InvalidDataException"/>s the readers throw. The message says what was expected, what was
/// found and where; the location is also stored in <see cref="Exception.Data"/> under the keys
/// <see cref="SourceKey"/>, <see cref="OffsetKey"/>, <see cref="LineKey"/> and <see cref="ColumnKey"/>.
/// </summary>
internal static class DataErrors
{
    public const string SourceKey = "MnistNet.Source";
    public const string OffsetKey = "MnistNet.Offset";
    public const string LineKey = "MnistNet.Line";
    public const string ColumnKey = "MnistNet.Column";

    public static InvalidDataException AtOffset(string source, long offset, string problem, Exception? inner = null)
    {
        var ex = new InvalidDataException($"{source}: at byte offset {offset}: {problem}", inner);
        ex.Data[SourceKey] = source;
        ex.Data[OffsetKey] = offset;
        return ex;
    }

    public static InvalidDataException AtLine(string source, int line, int column, string problem)
    {
        var ex = new InvalidDataException($"{source}: line {line}, column {column}: {problem}");
        ex.Data[SourceKey] = source;
        ex.Data[LineKey] = line;
        ex.Data[ColumnKey] = column;
        return ex;
    }

    /// <summary>A problem with a safetensors file's JSON header (its metadata or tensor entries): located at the header, byte 8.</summary>
    public static InvalidDataException InHeader(string source, string problem) => AtOffset(source, 8, problem);

    public static InvalidDataException InFile(string source, string problem)
    {
        var ex = new InvalidDataException($"{source}: {problem}");
        ex.Data[SourceKey] = source;
        return ex;
    }
}
