using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Onnx.Protobuf;
using MnistNet.Serialization;

namespace MnistNet.Onnx;

/// <summary>
/// Writes a MnistNet network as an ONNX model: opset 17, one input <c>input</c> of shape [N, inputs] (one example per
/// row, as ONNX and PyTorch expect, pixels / 255), one output <c>probabilities</c> of shape [N, classes], with a dynamic
/// batch size N. Dense layers become <c>Gemm(transB = 1)</c> with the weights as stored ([outputs, inputs]), ReLU
/// becomes <c>Relu</c>, and the softmax/cross-entropy head becomes <c>Softmax(axis = 1)</c>.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the exported models import.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const int IRVersion = 8;

    /// <summary>The name of the model's input.</summary>
    public const string InputName = "input";

    /// <summary>The name of the model's output.</summary>
    public const string OutputName = "probabilities";

    /// <summary>Writes <paramref name="network"/> to <paramref name="path"/> as an ONNX model, atomically (a failed write leaves any previous file intact).</summary>
    /// <typeparam name="T">float (exported as FLOAT) or double (exported as DOUBLE).</typeparam>
    /// <param name="network">A sequence of dense, ReLU and softmax/cross-entropy layers, such as a <see cref="DenseNetwork{T}"/>.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <exception cref="NotSupportedException">The network has a layer ONNX export does not know.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names <paramref name="path"/>.</exception>
    public static void ExportOnnx<T>(this Network<T> network, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ModelProto model = Build(network);
        AtomicFile.Write(path, stream => model.WriteTo(stream));
    }

    /// <summary>Returns <paramref name="network"/> as the bytes of an ONNX model (see <see cref="ExportOnnx{T}"/>).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="network">A sequence of dense, ReLU and softmax/cross-entropy layers.</param>
    /// <returns>The serialized ModelProto.</returns>
    /// <exception cref="NotSupportedException">The network has a layer ONNX export does not know.</exception>
    public static byte[] ToOnnx<T>(this Network<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return Build(network).ToByteArray();
    }

    private static ModelProto Build<T>(Network<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int elementType = typeof(T) == typeof(float) ? (int)TensorProto.Types.DataType.Float
            : typeof(T) == typeof(double) ? (int)TensorProto.Types.DataType.Double
            : throw new NotSupportedException($"ONNX export supports float and double networks, not {typeof(T).Name}.");
        string version = typeof(Network<>).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(Network<>).Assembly.GetName().Version?.ToString() ?? "unknown";

        var graph = new GraphProto { Name = "mnistnet", DocString = $"MnistNet {network.Architecture}" };
        graph.Input.Add(Value(InputName, elementType, network.Inputs, "pixels / 255, one example per row"));
        string current = InputName;
        IReadOnlyList<Layer<T>> layers = network.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            bool last = i == layers.Count - 1;
            string output = last ? OutputName : $"layers.{i}.output";
            switch (layers[i])
            {
                case Dense<T> dense:
                    graph.Initializer.Add(Tensor(dense.Weight.Name, dense.Weight.Value, [dense.OutputSize, dense.InputSize], elementType));
                    graph.Initializer.Add(Tensor(dense.Bias.Name, dense.Bias.Value, [dense.OutputSize], elementType));
                    graph.Node.Add(Node("Gemm", $"layers.{i}.gemm", [current, dense.Weight.Name, dense.Bias.Name], output, Int("transB", 1)));
                    break;
                case ReLU<T>:
                    graph.Node.Add(Node("Relu", $"layers.{i}.relu", [current], output));
                    break;
                case SoftmaxCrossEntropy<T> when last:
                    graph.Node.Add(Node("Softmax", $"layers.{i}.softmax", [current], output, Int("axis", 1)));
                    break;
                default:
                    throw new NotSupportedException($"ONNX export does not know layer {i} ({layers[i]}) of {network.Architecture}; it exports dense, ReLU and a final softmax.");
            }

            current = output;
        }

        if (current != OutputName)
        {
            throw new NotSupportedException($"ONNX export needs a network that ends in softmax; {network.Architecture} does not.");
        }

        graph.Output.Add(Value(OutputName, elementType, network.Outputs, "class probabilities, one example per row"));
        var model = new ModelProto
        {
            IrVersion = IRVersion,
            ProducerName = "MnistNet",
            ProducerVersion = version,
            Domain = "net.mnistnet",
            ModelVersion = 1,
            DocString = $"{network.Architecture}: {network.Inputs} inputs (pixels / 255), {network.Outputs} classes.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "architecture", Value = network.Architecture });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "mnistnet_version", Value = version });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "input_scale", Value = "pixel / 255" });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "classes", Value = network.Outputs.ToString(CultureInfo.InvariantCulture) });
        return model;
    }

    private static ValueInfoProto Value(string name, int elementType, int width, string doc)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    /// <summary>A matrix's logical elements, row by row (its padded stride left out), as little-endian raw data.</summary>
    private static TensorProto Tensor<T>(string name, Matrix<T> value, long[] dims, int elementType)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Marshal.SizeOf<T>();
        byte[] bytes = new byte[value.Rows * value.Columns * size];
        for (int r = 0; r < value.Rows; r++)
        {
            MemoryMarshal.AsBytes(value.Row(r)).CopyTo(bytes.AsSpan(r * value.Columns * size));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        }

        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.Add(dims);
        return tensor;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output, AttributeProto? attribute = null)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(output);
        if (attribute is not null)
        {
            node.Attribute.Add(attribute);
        }

        return node;
    }

    private static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
