using MnistNet.Web;

// The draw-a-digit page: dotnet run --project samples/MnistNet.Web -- --urls http://127.0.0.1:5080 [--model model.safetensors]
WebApplication app = DigitApp.Build(args);
app.Run();

/// <summary>The entry point's type, for WebApplicationFactory in the tests.</summary>
public partial class Program;
