using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

/// <summary>
/// A message's content opened before its FETCH response starts, handed to the writer on its first open (later opens, to
/// go back in a stream that cannot seek, ask the store again). Disposed if the writer never took it.
/// </summary>
internal sealed class PreopenedContent(IMailboxStore store, string user, string folder, uint uid) : IAsyncDisposable
{
    private Stream? _first;

    /// <summary>Opens the content; false when the message is no longer in the folder.</summary>
    public async ValueTask<bool> TryOpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            _first = await store.OpenContentAsync(user, folder, uid, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MailboxStoreException ex) when (ex.Error == MailboxStoreError.MessageNotFound)
        {
            return false;
        }
    }

    /// <summary>The content from its first octet: the stream opened beforehand, then fresh ones from the store.</summary>
    public ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        if (_first is { } first)
        {
            _first = null;
            return ValueTask.FromResult(first);
        }
        return store.OpenContentAsync(user, folder, uid, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_first is { } first)
        {
            _first = null;
            await first.DisposeAsync().ConfigureAwait(false);
        }
    }
}
