using Mail.Protocols.Storage;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// The engines' cache files (<see cref="IFolderCacheStore"/>): one per name and folder, in the folder's directory, replaced
/// whole, kept across a restart, taken along by a rename and gone with the folder.
/// </summary>
public sealed class FolderCacheTests : IDisposable
{
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task A_cache_file_is_read_back_after_a_restart_and_replaced_whole()
    {
        IFolderCacheStore store = _fixture.Store;
        Assert.Null(await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 1 << 20));
        await store.WriteFolderCacheAsync(StoreFixture.User, "INBOX", "words", new byte[] { 1, 2, 3, 4 });
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 1 << 20));
        Assert.True(File.Exists(Path.Combine(_fixture.Inbox, "mailprotocols.cache.words")));

        store = _fixture.Restart();
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 1 << 20));
        await store.WriteFolderCacheAsync(StoreFixture.User, "INBOX", "words", new byte[] { 9 });
        Assert.Equal(new byte[] { 9 }, await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 1 << 20));
        // Longer than the caller takes: not read.
        await store.WriteFolderCacheAsync(StoreFixture.User, "INBOX", "words", new byte[100]);
        Assert.Null(await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 99));
        // Other names are other files; the messages are untouched.
        Assert.Null(await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "other", 1 << 20));
        Assert.Empty(await _fixture.Store.ListMessagesAsync(StoreFixture.User, "INBOX"));
    }

    [Fact]
    public async Task Measured_for_latency_the_store_keeps_its_caches_and_times_them()
    {
        using var meters = new TestMeterFactory();
        using var durations = new MetricCollector<double>(meters, MailMeters.Store, "mail.store.operation.duration");
        var store = Assert.IsAssignableFrom<IFolderCacheStore>(_fixture.Store.WithMetrics(meters));

        await store.WriteFolderCacheAsync(StoreFixture.User, "INBOX", "words", new byte[] { 5 });

        Assert.Equal(new byte[] { 5 }, await store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", "words", 10));
        Assert.Equal(["write_folder_cache", "read_folder_cache"], durations.GetMeasurementSnapshot().Select(m => (string?)m.Tags["mail.store.operation"]));
    }

    [Fact]
    public async Task A_cache_goes_with_its_folder_when_renamed_and_is_gone_when_the_folder_is_deleted()
    {
        var store = _fixture.Store;
        await store.CreateFolderAsync(StoreFixture.User, "Work");
        await store.WriteFolderCacheAsync(StoreFixture.User, "Work", "words", new byte[] { 7 });
        await store.RenameFolderAsync(StoreFixture.User, "Work", "Done");
        Assert.Equal(new byte[] { 7 }, await store.ReadFolderCacheAsync(StoreFixture.User, "Done", "words", 10));

        await store.DeleteFolderAsync(StoreFixture.User, "Done");
        await store.CreateFolderAsync(StoreFixture.User, "Done");
        Assert.Null(await store.ReadFolderCacheAsync(StoreFixture.User, "Done", "words", 10));
    }

    [Fact]
    public async Task A_missing_folder_or_a_name_that_is_no_cache_name_is_refused()
    {
        var store = _fixture.Store;
        var missing = await Assert.ThrowsAsync<MailboxStoreException>(() => store.ReadFolderCacheAsync(StoreFixture.User, "Nope", "words", 10).AsTask());
        Assert.Equal(MailboxStoreError.FolderNotFound, missing.Error);
        missing = await Assert.ThrowsAsync<MailboxStoreException>(() => store.WriteFolderCacheAsync(StoreFixture.User, "Nope", "words", new byte[1]).AsTask());
        Assert.Equal(MailboxStoreError.FolderNotFound, missing.Error);
        foreach (var name in new[] { "", "../x", "Words", "a.b", new string('a', 33) })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => store.ReadFolderCacheAsync(StoreFixture.User, "INBOX", name, 10).AsTask());
            await Assert.ThrowsAsync<ArgumentException>(() => store.WriteFolderCacheAsync(StoreFixture.User, "INBOX", name, new byte[1]).AsTask());
        }
    }
}
