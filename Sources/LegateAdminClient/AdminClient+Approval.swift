import LegateCore
import LegateWire

// MARK: - Profile and approval calls: typed wrappers over `call`.

extension AdminClient {
    /// Creates a profile (delegate:edit).
    public func createProfile(_ spec: ProfileSpec) throws(AdminClientError) -> ProfileInfo {
        try self.call(.profileCreate, spec, as: ProfileInfo.self)
    }

    /// Replaces the profile named `spec.name` (delegate:edit).
    public func updateProfile(_ spec: ProfileSpec) throws(AdminClientError) -> ProfileInfo {
        try self.call(.profileUpdate, spec, as: ProfileInfo.self)
    }

    /// Every profile of the key's account (delegate:view).
    public func listProfiles() throws(AdminClientError) -> [ProfileInfo] {
        try self.call(.profileList, ProfileListRequest(), as: ProfileListResponse.self).profiles
    }

    /// Deletes a profile no delegate uses (delegate:delete).
    public func deleteProfile(name: String) throws(AdminClientError) {
        var request = ProfileRef()
        request.name = name
        _ = try self.call(.profileDelete, request, as: ProfileRef.self)
    }

    /// Pending delegates, of one profile or all (delegate:view).
    public func pendingDelegates(profile: String = "") throws(AdminClientError) -> [DelegateInfo] {
        var request = DelegatePendingListRequest()
        request.profile = profile
        return try self.call(.delegatePendingList, request, as: DelegateListResponse.self).delegates
    }

    /// Approves (`approve` true) or rejects pending delegates (delegate:approve).
    public func decide(_ request: DelegateDecisionRequest, approve: Bool) throws(AdminClientError)
        -> DelegateDecisionResponse
    {
        try self.call(approve ? .delegateApprove : .delegateReject, request, as: DelegateDecisionResponse.self)
    }

    /// Deletes a delegate in any state; a connected one gets SELF_DESTRUCT first (delegate:delete).
    public func deleteDelegate(id: String) throws(AdminClientError) {
        var request = DelegateRef()
        request.delegateID = id
        _ = try self.call(.delegateDelete, request, as: DelegateRef.self)
    }
}
