using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Session;

/// <summary>
/// Finds messages by UID in a store's listing of a folder (ascending UIDs, as <see cref="IMailboxStore.ListMessagesAsync"/>
/// returns it) without building a dictionary of the whole folder: UIDs asked for in ascending order (a FETCH's) are found by
/// stepping on from the last one found, any other by binary search.
/// </summary>
internal sealed class MessageInfoLookup(IReadOnlyList<MessageInfo> messages)
{
    private int _next;

    /// <summary>The message with <paramref name="uid"/>, or null when the listing does not have it.</summary>
    public MessageInfo? Find(uint uid)
    {
        var count = messages.Count;
        // The next one, or one of the few after it (a FETCH of every message, or of a range with a gap of expunges).
        for (var i = _next; i < count && i < _next + 4; i++)
        {
            var info = messages[i];
            if (info.Uid == uid)
            {
                _next = i + 1;
                return info;
            }
            if (info.Uid > uid)
            {
                break;
            }
        }
        int low = 0, high = count - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var info = messages[middle];
            if (info.Uid == uid)
            {
                _next = middle + 1;
                return info;
            }
            if (info.Uid < uid)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return null;
    }
}
