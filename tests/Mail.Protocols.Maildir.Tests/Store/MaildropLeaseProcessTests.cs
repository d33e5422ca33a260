using System.Diagnostics;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// The Maildir store's maildrop lease against another process: flock(1) of util-linux takes and tests the same kind of
/// lock (flock) on the lease file, so it stands for a second mail process on the same Maildir.
/// </summary>
public sealed class MaildropLeaseProcessTests : IDisposable
{
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string LeaseFile => Path.Combine(_fixture.Store.GetUserDirectory(StoreFixture.User), MaildirMailboxStore.MaildropLeaseFileName);

    private static Process Flock(params string[] arguments)
    {
        var start = new ProcessStartInfo("flock") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    [Fact]
    public async Task A_lease_held_here_is_seen_by_another_process_and_one_held_there_is_refused_here()
    {
        var lease = await _fixture.Store.TryAcquireMaildropLeaseAsync(StoreFixture.User);
        Assert.NotNull(lease);
        using (var probe = Flock("--nonblock", "--conflict-exit-code", "42", LeaseFile, "true"))
        {
            await probe.WaitForExitAsync();
            Assert.Equal(42, probe.ExitCode); // the other process cannot take it
        }
        lease.Dispose();

        // The other process holds it (until its stdin closes): this store is refused, then gets it when that process ends.
        using var holder = Flock(LeaseFile, "-c", "echo locked; cat");
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
        Assert.Null(await _fixture.Store.TryAcquireMaildropLeaseAsync(StoreFixture.User));
        holder.StandardInput.Close();
        await holder.WaitForExitAsync();
        using var after = await _fixture.Store.TryAcquireMaildropLeaseAsync(StoreFixture.User);
        Assert.NotNull(after);
    }
}
