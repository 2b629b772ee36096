using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api.Management;

/// <summary>
/// Source-generated JSON metadata of every request and answer body of <c>/api/v1</c>, so that neither reading nor
/// writing them reflects over the types at run time. Registered first in the HTTP JSON options
/// (<see cref="ManagementApi.AddManagementApi"/>), whose settings (web defaults: camelCase names, nulls written) it
/// takes, and in <see cref="RequestBody.Options"/>; the wire is the one reflection gave (ManagementJsonTests compare
/// them byte for byte). A new body type goes here too (a test finds the ones missing).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProjectCreateRequest))]
[JsonSerializable(typeof(ProjectUpdateRequest))]
[JsonSerializable(typeof(MemberSetRequest))]
[JsonSerializable(typeof(RobotCreateRequest))]
[JsonSerializable(typeof(RobotUpdateRequest))]
[JsonSerializable(typeof(RobotTokenCreateRequest))]
[JsonSerializable(typeof(TokenCreateRequest))]
[JsonSerializable(typeof(UserCreateRequest))]
[JsonSerializable(typeof(UserUpdateRequest))]
[JsonSerializable(typeof(PasswordChangeRequest))]
[JsonSerializable(typeof(IpRuleCreateRequest))]
[JsonSerializable(typeof(ImmutabilityRuleRequest))]
[JsonSerializable(typeof(RetentionPolicyRequest))]
[JsonSerializable(typeof(RetentionRunRequest))]
[JsonSerializable(typeof(QuotaSetRequest))]
[JsonSerializable(typeof(QuotaResponse))]
[JsonSerializable(typeof(ProjectResponse))]
[JsonSerializable(typeof(PageResponse<ProjectResponse>))]
[JsonSerializable(typeof(MemberResponse))]
[JsonSerializable(typeof(PageResponse<MemberResponse>))]
[JsonSerializable(typeof(RobotResponse))]
[JsonSerializable(typeof(PageResponse<RobotResponse>))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(PageResponse<TokenResponse>))]
[JsonSerializable(typeof(NewTokenResponse))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(PageResponse<UserResponse>))]
[JsonSerializable(typeof(IpRuleResponse))]
[JsonSerializable(typeof(PageResponse<IpRuleResponse>))]
[JsonSerializable(typeof(ImmutabilityRuleResponse))]
[JsonSerializable(typeof(PageResponse<ImmutabilityRuleResponse>))]
[JsonSerializable(typeof(RetentionPolicyResponse))]
[JsonSerializable(typeof(RetentionRunResponse))]
[JsonSerializable(typeof(PageResponse<RetentionRunResponse>))]
[JsonSerializable(typeof(AuditEntryResponse))]
[JsonSerializable(typeof(PageResponse<AuditEntryResponse>))]
[JsonSerializable(typeof(MembershipResponse))]
[JsonSerializable(typeof(MeResponse))]
[JsonSerializable(typeof(RepositoryResponse))]
[JsonSerializable(typeof(PageResponse<RepositoryResponse>))]
[JsonSerializable(typeof(TagResponse))]
[JsonSerializable(typeof(PageResponse<TagResponse>))]
[JsonSerializable(typeof(StorageResponse))]
[JsonSerializable(typeof(GcRunRequest))]
[JsonSerializable(typeof(GcRunResponse))]
[JsonSerializable(typeof(GcStatusResponse))]
[JsonSerializable(typeof(VulnDbImportRequest))]
[JsonSerializable(typeof(VulnDbImportResponse))]
[JsonSerializable(typeof(VulnDbStatusResponse))]
[JsonSerializable(typeof(ScanPolicyRequest))]
[JsonSerializable(typeof(ScanPolicyResponse))]
[JsonSerializable(typeof(CveAllowRequest))]
[JsonSerializable(typeof(CveAllowResponse))]
[JsonSerializable(typeof(PageResponse<CveAllowResponse>))]
[JsonSerializable(typeof(string))]
public sealed partial class ManagementJsonContext : JsonSerializerContext;
