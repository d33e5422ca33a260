using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Testing.Contracts;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Tests;

/// <summary>
/// The whole store contract through the latency decorator while something listens, so that every call takes the timed
/// path: the decorator must change nothing a session sees (results, errors, subscriptions, the store's own resync).
/// </summary>
public sealed class MeasuredMailboxStoreContractTests : MailboxStoreContractTests, IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly MetricCollector<double> _durations;

    public MeasuredMailboxStoreContractTests() => _durations = new(_meters, MailMeters.Store, "mail.store.operation.duration");

    protected override IMailboxStore CreateStore() => new InMemoryMailboxStore().WithMetrics(_meters);

    public void Dispose()
    {
        _durations.Dispose();
        _meters.Dispose();
    }
}

/// <summary>What the decorator records.</summary>
public sealed class MailboxStoreMetricsTests
{
    private const string Alice = "alice@example.test";

    [Fact]
    public async Task Each_call_is_timed_by_operation_and_a_failed_one_names_its_error()
    {
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, MailMeters.Store, "mail.store.operation.duration");
        var store = new InMemoryMailboxStore().WithMetrics(meters);

        await store.AppendAsync(Alice, "INBOX", new MemoryStream(Encoding.ASCII.GetBytes("Subject: x\r\n\r\nbody\r\n")));
        await store.SetSpecialUseAsync(Alice, "INBOX", SpecialUse.None);
        await store.OpenFolderAsync(Alice, "INBOX");
        var refused = await Assert.ThrowsAsync<MailboxStoreException>(() => store.OpenFolderAsync(Alice, "Nowhere").AsTask());

        Assert.Equal(MailboxStoreError.FolderNotFound, refused.Error);
        var measured = durations.GetMeasurementSnapshot();
        Assert.Equal([("append", null), ("set_special_use", null), ("open_folder", null), ("open_folder", "FolderNotFound")],
            measured.Select(m => ((string?)m.Tags["mail.store.operation"], m.Tags.TryGetValue("error.type", out var type) ? (string?)type : null)));
        Assert.All(measured, m => Assert.True(m.Value >= 0));
    }

    [Fact]
    public void A_store_measured_already_is_not_measured_again_and_keeps_only_the_capabilities_it_has()
    {
        using var meters = new TestMeterFactory();
        var store = new InMemoryMailboxStore();

        var measured = store.WithMetrics(meters);

        Assert.Same(measured, measured.WithMetrics(meters));
        Assert.Same(measured, measured.WithMetrics(null));
        Assert.IsNotType<IFolderCacheStore>(measured, exactMatch: false); // the in-memory store keeps no folder caches
    }
}
