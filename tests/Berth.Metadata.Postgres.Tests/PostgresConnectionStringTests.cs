using Berth.Metadata.Postgres;
using Npgsql;

namespace Berth.Metadata.Postgres.Tests;

public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void FromUri_FullForm_EveryPartMapped()
    {
        var text = PostgresConnectionStrings.FromUri(new Uri("postgres://reg%40istry:p%3Ass%2Fw@db.example:6543/berth?sslmode=require&application_name=node-a"));
        var b = new NpgsqlConnectionStringBuilder(text);
        Assert.Equal("db.example", b.Host);
        Assert.Equal(6543, b.Port);
        Assert.Equal("berth", b.Database);
        Assert.Equal("reg@istry", b.Username);
        Assert.Equal("p:ss/w", b.Password);
        Assert.Equal(SslMode.Require, b.SslMode);
        Assert.Equal("node-a", b.ApplicationName);
    }

    [Fact]
    public void FromUri_NoPortNoPassword_DefaultPortAndPasswordLeftForPgpassword()
    {
        var b = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.FromUri(new Uri("postgresql://berth@localhost/registry")));
        Assert.Equal(5432, b.Port);
        Assert.Null(b.Password);
        var completed = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.Complete(b.ConnectionString, new PostgresMetadataOptions(),
            name => name == "PGPASSWORD" ? "from-env" : null));
        Assert.Equal("from-env", completed.Password);
    }

    [Theory]
    [InlineData("postgres://user:pw@host:5432/")]
    [InlineData("postgres://user:pw@host:5432/a/b")]
    [InlineData("postgres://user:pw@host/db?no_such_setting=1")]
    [InlineData("mysql://user:pw@host/db")]
    public void FromUri_NotUsable_ArgumentExceptionWithoutThePassword(string uri)
    {
        var ex = Assert.Throws<ArgumentException>(() => PostgresConnectionStrings.FromUri(new Uri(uri)));
        Assert.DoesNotContain("pw", ex.Message.Replace("PostgreSQL", "", StringComparison.Ordinal).Replace("postgres", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Describe_NeverShowsThePassword()
    {
        var shown = PostgresConnectionStrings.Describe("Host=h;Port=1;Database=d;Username=u;Password=secret-1");
        Assert.Equal("h:1/d as u", shown);
    }

    [Theory]
    [InlineData("Host=h;Database=d", true)]
    [InlineData("postgres://h/d", false)]
    [InlineData("postgres", false)]
    public void LooksLikeConnectionString_TellsTheFormsApart(string value, bool expected) =>
        Assert.Equal(expected, PostgresConnectionStrings.LooksLikeConnectionString(value));
}

public sealed class PostgresDatabaseTests
{
    [Fact]
    public async Task Constructor_NoAutoPrepareSetting_TurnsAutomaticPreparationOn()
    {
        await using var db = new PostgresDatabase("Host=h;Database=d;Username=u;Password=p");

        var settings = new NpgsqlConnectionStringBuilder(db.DataSource.ConnectionString);
        Assert.Equal(64, settings.MaxAutoPrepare);
        Assert.Equal(2, settings.AutoPrepareMinUsages);
    }

    [Fact]
    public async Task Constructor_NoResetSetting_ReturnsConnectionsToThePoolWithoutAReset()
    {
        await using var db = new PostgresDatabase("Host=h;Database=d;Username=u;Password=p");

        Assert.True(new NpgsqlConnectionStringBuilder(db.DataSource.ConnectionString).NoResetOnClose);
    }

    [Fact]
    public async Task Constructor_ResetSetByTheOperator_KeepsIt()
    {
        await using var db = new PostgresDatabase("Host=h;Database=d;No Reset On Close=false");

        Assert.False(new NpgsqlConnectionStringBuilder(db.DataSource.ConnectionString).NoResetOnClose);
    }

    [Theory]
    [InlineData("Host=h;Database=d;Max Auto Prepare=0", 0)]
    [InlineData("Host=h;Database=d;Max Auto Prepare=7", 7)]
    public async Task Constructor_AutoPrepareSetByTheOperator_KeepsIt(string connectionString, int expected)
    {
        await using var db = new PostgresDatabase(connectionString);

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(db.DataSource.ConnectionString).MaxAutoPrepare);
    }
}
