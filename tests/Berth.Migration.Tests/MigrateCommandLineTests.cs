namespace Berth.Migration.Tests;

/// <summary><c>berth admin migrate</c>'s command line and its one-line errors (no server needed).</summary>
public sealed class MigrateCommandLineTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "berth-migrate-cli-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData("--to-metadata", "postgres://u@127.0.0.1/db", "--to-storage", "filesystem")]
    [InlineData("--data", "x", "--to-storage", "filesystem")]
    [InlineData("--data", "x", "--to-metadata", "postgres://u@127.0.0.1/db")]
    public void Parse_RequiredOptionMissing_NamesIt(params string[] args)
    {
        var ex = Assert.Throws<CommandLineException>(() => MigrateCommand.Parse(args));
        Assert.Contains("is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownRepeatedOrEmptyOption_Refused()
    {
        Assert.Contains("unknown option '--to-s3'", Assert.Throws<CommandLineException>(() => MigrateCommand.Parse(["--to-s3", "x"])).Message, StringComparison.Ordinal);
        Assert.Contains("given twice", Assert.Throws<CommandLineException>(() => MigrateCommand.Parse(["--data", "a", "--data=b"])).Message, StringComparison.Ordinal);
        Assert.Contains("needs a value", Assert.Throws<CommandLineException>(() => MigrateCommand.Parse(["--data"])).Message, StringComparison.Ordinal);
        Assert.Contains("needs a value", Assert.Throws<CommandLineException>(() => MigrateCommand.Parse(["--data="])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AllForms_Read()
    {
        var request = MigrateCommand.Parse(["--data=/d", "--to-metadata", "Host=h;Database=b", "--to-storage", "filesystem", "--to-storage-path", "/t", "--dry-run"]);
        Assert.Equal(new MigrateRequest("/d", "Host=h;Database=b", "filesystem", "/t", true), request);
    }

    [Fact]
    public async Task RunAsync_NotADataFolder_ExitTwoAndOneLine()
    {
        var (code, error) = await RunAsync("--data", _data, "--to-metadata", "postgres://u@127.0.0.1/db", "--to-storage", "filesystem", "--to-storage-path", _data + "-t");

        Assert.Equal(2, code);
        Assert.Equal($"berth: --data: there is no data folder {_data}", error.Trim());
    }

    [Fact]
    public async Task RunAsync_TargetMetadataNotPostgres_ExitTwo()
    {
        var (code, error) = await RunAsync("--data", _data, "--to-metadata", "sqlite", "--to-storage", "filesystem", "--to-storage-path", _data + "-t");

        Assert.Equal(2, code);
        Assert.StartsWith("berth: --to-metadata: the target must be PostgreSQL", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnknownStorageScheme_ExitTwoNamingToStorage()
    {
        CreateDataFolder();
        var (code, error) = await RunAsync("--data", _data, "--to-metadata", "postgres://u:pw@127.0.0.1:1/db", "--to-storage", "gopher://bucket");

        Assert.Equal(2, code);
        Assert.StartsWith("berth: --to-storage gopher://bucket: no storage provider", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TargetStorageIsTheSourceFolder_ExitTwo()
    {
        CreateDataFolder();
        var (code, error) = await RunAsync("--data", _data, "--to-metadata", "postgres://u:pw@127.0.0.1:1/db", "--to-storage", _data);

        Assert.Equal(2, code);
        Assert.Contains("is the source data folder", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnreachableDatabase_OneLineWithoutThePassword()
    {
        CreateDataFolder();
        var (code, error) = await RunAsync("--data", _data, "--to-metadata", "postgres://user:S3cretPassw0rd@127.0.0.1:1/db", "--to-storage", "filesystem", "--to-storage-path", _data + "-t");

        Assert.Equal(1, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: --to-metadata 127.0.0.1:1/db as user: cannot connect", line, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cretPassw0rd", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_data + "-t"));
    }

    [Fact]
    public async Task AdminCommands_MigrateHelp_DescribesTheCommand()
    {
        using var output = new StringWriter();
        var code = await AdminCommands.RunAsync(["migrate", "--help"], TextReader.Null, output);

        Assert.Equal(0, code);
        Assert.Contains("berth admin migrate --data DIR --to-metadata URL --to-storage URL", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("Stop the source server first", output.ToString(), StringComparison.Ordinal);
    }

    private void CreateDataFolder()
    {
        Directory.CreateDirectory(_data);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_data, "berth.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (x)";
        command.ExecuteNonQuery();
    }

    private static async Task<(int Code, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MigrateCommand.RunAsync(args, output, error, errorIsTerminal: false, CancellationToken.None);
        return (code, error.ToString());
    }

    public void Dispose()
    {
        foreach (var path in new[] { _data, _data + "-t" })
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }
}
