using Mail.Protocols.Imap.Session;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>FETCH finds each message in the store's listing by UID, in any order, without a dictionary of the folder.</summary>
public sealed class MessageInfoLookupTests
{
    private static readonly MessageInfo[] s_listing = [.. new uint[] { 2, 3, 5, 8, 9, 10, 20, 21, 40 }.Select(Info)];

    private static MessageInfo Info(uint uid) => new(uid, MessageFlags.None, [], DateTimeOffset.UnixEpoch, uid * 10, uid);

    [Fact]
    public void Ascending_uids_with_gaps_are_found_and_missing_ones_are_not()
    {
        var lookup = new MessageInfoLookup(s_listing);
        for (uint uid = 0; uid <= 45; uid++)
        {
            Assert.Same(s_listing.FirstOrDefault(m => m.Uid == uid), lookup.Find(uid));
        }
    }

    [Fact]
    public void Uids_in_any_order_and_repeated_are_found()
    {
        var lookup = new MessageInfoLookup(s_listing);
        foreach (var uid in new uint[] { 40, 2, 21, 21, 7, 9, 3, 41, 1, 10, 5, 40, 8, 20 })
        {
            Assert.Same(s_listing.FirstOrDefault(m => m.Uid == uid), lookup.Find(uid));
        }
    }

    [Fact]
    public void An_empty_listing_finds_nothing()
    {
        var lookup = new MessageInfoLookup([]);
        Assert.Null(lookup.Find(1));
        Assert.Null(lookup.Find(0));
    }
}
