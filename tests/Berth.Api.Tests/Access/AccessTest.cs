using Berth.Core.Access;
using Berth.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Api.Tests.Access;

/// <summary>A fresh server with the administrator's client and an <see cref="AccessSetup"/> to arrange callers.</summary>
public abstract class AccessTest : IDisposable
{
    protected AccessTest(IDictionary<string, string?>? settings = null)
    {
        App = new BerthApplication(settings);
        Admin = App.CreateClient();
        Setup = new AccessSetup(App);
    }

    protected BerthApplication App { get; }

    protected HttpClient Admin { get; }

    protected AccessSetup Setup { get; }

    protected T Service<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>A user with the password "NAME-password", optionally a member of a project.</summary>
    protected async Task<(User User, Credentials Credentials)> UserAsync(string name, string? project = null, ProjectRole role = ProjectRole.Developer)
    {
        var user = await Setup.UserAsync(name, name + "-password");
        if (project is not null)
        {
            await Setup.MemberAsync(project, user, role);
        }

        return (user, new Credentials(name, name + "-password"));
    }

    public void Dispose()
    {
        Admin.Dispose();
        App.Dispose();
        GC.SuppressFinalize(this);
    }
}
