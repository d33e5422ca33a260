using Mail.Protocols.Hosting.Health;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Mail.Protocols.TestSupport.Faults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>The mail health checks through the health check service an application (or ASP.NET Core's endpoint) runs.</summary>
public sealed class HealthCheckTests
{
    [Fact]
    public async Task Listeners_are_healthy_only_while_the_servers_run()
    {
        var ct = TestHost.Timeout();
        using var host = TestHost.Build(TestHost.Settings(), delivery: false,
            services => services.AddHealthChecks().AddMailChecks(storeProbeLogin: TestHost.Alice));
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var before = await health.CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Unhealthy, before.Entries["mail-listeners"].Status);

        await host.StartAsync(ct);
        var running = await health.CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Healthy, running.Status);
        var listeners = running.Entries["mail-listeners"];
        Assert.Equal(["imap", "imaps", "pop3", "pop3s", "smtp", "smtps", "submission"], listeners.Data.Keys.Order());
        Assert.Equal(0, running.Entries["mail-queue"].Data["entries"]);
        Assert.Equal(HealthStatus.Healthy, running.Entries["mail-store"].Status);

        await host.StopAsync(ct);
        var stopped = await health.CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Unhealthy, stopped.Entries["mail-listeners"].Status);
        Assert.Contains("smtp", stopped.Entries["mail-listeners"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_fails_makes_the_store_check_unhealthy()
    {
        var ct = TestHost.Timeout();
        var store = new FaultyMailboxStore(new InMemoryMailboxStore());
        using var host = TestHost.Build(TestHost.Settings(), delivery: false, services =>
        {
            services.AddSingleton<IMailboxStore>(store);
            services.AddHealthChecks().AddMailChecks(storeProbeLogin: TestHost.Alice);
        });
        await host.StartAsync(ct);
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(ct)).Status);

        store.Fail = method => method == nameof(IMailboxStore.ListFoldersAsync) ? new IOException("the disk went away") : null;
        var report = await health.CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["mail-store"].Status);
        Assert.Equal("the disk went away", report.Entries["mail-store"].Exception?.Message);
        Assert.Equal(HealthStatus.Healthy, report.Entries["mail-listeners"].Status);
        await host.StopAsync(ct);
    }
}
