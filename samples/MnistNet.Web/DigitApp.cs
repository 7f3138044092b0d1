using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using MnistNet.Data;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Serialization;
using MnistNet.Training;

namespace MnistNet.Web;

/// <summary>The page and its API: GET / (the canvas), GET /api/model, POST /api/predict.</summary>
internal static class DigitApp
{
    /// <summary>The largest request body /api/predict reads: 1 MB.</summary>
    public const int MaxBodyBytes = 1 << 20;

    public static WebApplication Build(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(services => DigitModel.Create(builder.Configuration["model"], services.GetRequiredService<ILogger<DigitModel>>()));
        WebApplication app = builder.Build();

        // Load or train the model now, not on the first request, so start-up says which it was.
        DigitModel model = app.Services.GetRequiredService<DigitModel>();
        Log.Model(app.Logger, model.Description);

        app.MapGet("/", () => Results.Content(Page.Html, "text/html; charset=utf-8"));
        app.MapGet("/api/model", (DigitModel m) => Results.Json(new { description = m.Description, trainedAtStartup = m.TrainedAtStartup, architecture = m.Network.Architecture }));
        app.MapPost("/api/predict", Predict);
        return app;
    }

    private static async Task<IResult> Predict(HttpContext context, DigitModel model)
    {
        HttpRequest request = context.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            return TooLarge();
        }

        IHttpMaxRequestBodySizeFeature? limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is { IsReadOnly: false })
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[81920];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxBodyBytes)
                {
                    return TooLarge();
                }
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }

        string mediaType = (request.ContentType ?? string.Empty).Split(';')[0].Trim().ToLowerInvariant();
        GreyImage image;
        try
        {
            image = mediaType switch
            {
                "image/png" => DigitImage.Decode(body, "the PNG body"),
                "application/json" => FromJson(body),
                _ => throw new InvalidDataException($"Send image/png or application/json {{\"pixels\": [784 numbers 0..1]}}; got Content-Type '{request.ContentType}'."),
            };
        }
        catch (InvalidDataException ex)
        {
            return Results.Problem(title: "Bad image", detail: ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }

        float[] probabilities = model.Probabilities(DigitImage.ToMnist(image));
        int digit = Array.IndexOf(probabilities, probabilities.Max());
        return Results.Json(new { digit, probabilities });
    }

    private static IResult TooLarge() => Results.Problem(
        title: "Body too large",
        detail: $"Request bodies up to {MaxBodyBytes} bytes (1 MB) are read.",
        statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>{"pixels": [784 numbers in 0..1]}: a 28 × 28 picture, row by row (either ink polarity).</summary>
    internal static GreyImage FromJson(byte[] body)
    {
        const int Count = DigitImage.Side * DigitImage.Side;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("pixels", out JsonElement pixels) || pixels.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException("Expected a JSON object with a \"pixels\" array of 784 numbers in 0..1.");
            }

            if (pixels.GetArrayLength() != Count)
            {
                throw new InvalidDataException($"\"pixels\" has {pixels.GetArrayLength()} values; expected {Count} (28 × 28, row by row).");
            }

            float[] values = new float[Count];
            int i = 0;
            foreach (JsonElement value in pixels.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double v) || !(v >= 0 && v <= 1))
                {
                    throw new InvalidDataException($"\"pixels\"[{i}] is {value.GetRawText()}; expected a number in 0..1.");
                }

                values[i++] = (float)v;
            }

            return new GreyImage(DigitImage.Side, DigitImage.Side, values);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The body is not valid JSON: {ex.Message}", ex);
        }
    }
}

/// <summary>The network the page runs: the bundled CNN, a file given by --model, or one trained briefly at start-up (--model train).</summary>
internal sealed class DigitModel
{
    private readonly Lock _gate = new();
    private readonly NetworkWorkspace<float> _workspace;
    private readonly Matrix<float> _input;

    private DigitModel(Network<float> network, string description, bool trained)
    {
        Network = network;
        Description = description;
        TrainedAtStartup = trained;
        _workspace = new NetworkWorkspace<float>(network, 1);
        _input = new Matrix<float>(network.Inputs, 1);
    }

    public Network<float> Network { get; }

    public string Description { get; }

    public bool TrainedAtStartup { get; }

    /// <summary>The file name of the model the repository ships (<c>data/models/</c>): <c>--preset cnn</c>, trained by the command in that folder's README.</summary>
    public const string BundledModel = "cnn.safetensors";

    /// <summary>
    /// The page's network: the file <paramref name="path"/> names; with no path, the bundled CNN (found in a
    /// <c>data/models</c> folder above the working or the app's directory); with <c>train</c>, or when there is no bundled
    /// model, a small dense network trained at start-up on the bundled data.
    /// </summary>
    public static DigitModel Create(string? path, ILogger logger)
    {
        if (string.IsNullOrEmpty(path))
        {
            string? bundled = FindRepositoryFile(Path.Combine("data", "models", BundledModel));
            if (bundled is not null)
            {
                return Load(bundled, $"The bundled model {BundledModel}");
            }

            Log.Model(logger, $"No --model given and no data/models/{BundledModel} found.");
        }
        else if (path != "train")
        {
            return Load(path, $"Model {Path.GetFileName(path)}");
        }

        // --model train (or nothing bundled): train a small network on the bundled data (a few seconds), and say so on the page.
        Log.Model(logger, "Training a small network on the bundled MNIST data…");
        string folder = FindRepositoryFile(Path.Combine("data", "mnist", "train-images-idx3-ubyte.gz")) is { } images
            ? Path.GetDirectoryName(images)!
            : throw new DirectoryNotFoundException("No model to serve and no data/mnist folder found to train one; pass --model model.safetensors.");
        MnistDataset mnist = MnistDataset.Load(folder);
        var network = new DenseNetwork<float>([784, 128, 10], seed: 0);
        new Trainer<float>(network, new Adam<float>(0.002), new TrainingOptions { Epochs = 2, BatchSize = 128, Seed = 0 }).Fit(mnist.Train);
        double accuracy = network.Evaluate(mnist.Test!).Accuracy;
        return new DigitModel(network, $"Trained {network.Architecture} for 2 epochs at start-up (test accuracy {accuracy:P1}).", trained: true);
    }

    private static DigitModel Load(string path, string what)
    {
        Network<float> loaded = ModelFile.LoadNetwork<float>(path);
        if (loaded.Inputs != DigitImage.Side * DigitImage.Side)
        {
            throw new InvalidDataException($"{path} takes {loaded.Inputs} inputs; the page sends 784 (28 × 28).");
        }

        return new DigitModel(loaded, $"{what} ({loaded.Architecture}).", trained: false);
    }

    /// <summary>The class probabilities for one 784-pixel image (one request at a time through the shared buffers).</summary>
    public float[] Probabilities(float[] pixels)
    {
        lock (_gate)
        {
            for (int k = 0; k < pixels.Length; k++)
            {
                _input[k, 0] = pixels[k];
            }

            Matrix<float> p = Network.ForwardProp(_input, _workspace);
            return Enumerable.Range(0, p.Rows).Select(c => p[c, 0]).ToArray();
        }
    }

    /// <summary>The first <paramref name="relativePath"/> in the working directory, the app's directory or a folder above either.</summary>
    private static string? FindRepositoryFile(string relativePath)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}

/// <summary>The page, embedded in the assembly.</summary>
internal static class Page
{
    public static string Html { get; } = Load();

    private static string Load()
    {
        using Stream stream = typeof(Page).Assembly.GetManifestResourceStream("MnistNet.Web.index.html")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>The sample's log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "{Message}")]
    public static partial void Model(ILogger logger, string message);
}
