"""The fake Intune settings catalogue: the setting definitions the collection uses.

Shapes follow graph-docs ``deviceManagementConfigurationSettingDefinition`` (choice and
simple definitions, ``options[].itemId``, ``valueDefinition.isSecret``) and exported EDR
policies (ids: docs/sources.md §6.1, UNCONFIRMED there). Anything not listed here answers 404, so
a module that trusted an id blindly fails against the fake as it would against a tenant
whose catalogue lacks it.
"""

from __future__ import annotations

import copy

_ATP = "device_vendor_msft_windowsadvancedthreatprotection"
_ATP_BASE = "./Device/Vendor/MSFT/WindowsAdvancedThreatProtection"
_DEFENDER_BASE = "./Device/Vendor/MSFT/Policy/Config/Defender"
_APPLICABILITY = {
    "@odata.type": "#microsoft.graph.deviceManagementConfigurationWindowsSettingApplicability",
    "platform": "windows10",
    "technologies": "mdm,configManager,microsoftSense",
    "deviceMode": "none",
    "description": None,
    "configurationServiceProviderVersion": "1.1",
    "windowsSkus": [],
    "requiresAzureAd": False,
}


def _option(definition_id: str, suffix: str, name: str, display: str, value, depends: list[str] | None = None) -> dict:
    kind = "String" if isinstance(value, str) else "Integer"
    return {
        "itemId": "%s_%s" % (definition_id, suffix),
        "name": name,
        "displayName": display,
        "description": None,
        "helpText": None,
        "optionValue": {
            "@odata.type": "#microsoft.graph.deviceManagementConfiguration%sSettingValue" % kind,
            "value": value,
            "settingValueTemplateReference": None,
        },
        "dependentOn": [],
        "dependedOnBy": [{"dependedOnBy": d, "required": True} for d in depends or []],
    }


def _choice(
    definition_id: str, display: str, base: str, offset: str, options: list[dict], root: str | None = None
) -> dict:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
        "id": definition_id,
        "name": offset.strip("/").split("/")[-1] or "ClientConfigurationPackageType",
        "displayName": display,
        "description": display,
        "helpText": None,
        "baseUri": base,
        "offsetUri": offset,
        "rootDefinitionId": root or definition_id,
        "categoryId": "577d5951-fc56-4906-90bc-2c508c6611ad",
        "settingUsage": "configuration",
        "uxBehavior": "dropdown",
        "visibility": "settingsCatalog,template",
        "accessTypes": "add,delete,get,replace",
        "applicability": dict(_APPLICABILITY),
        "occurrence": {"minDeviceOccurrence": 1, "maxDeviceOccurrence": 1},
        "keywords": [display],
        "infoUrls": [],
        "referredSettingInformationList": [],
        "version": "638700000000000000",
        "defaultOptionId": options[-1]["itemId"],
        "options": options,
    }


def _secret(definition_id: str, display: str, offset: str, parent: str, parent_option: str) -> dict:
    return {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingDefinition",
        "id": definition_id,
        "name": offset.strip("/"),
        "displayName": display,
        "description": display,
        "helpText": None,
        "baseUri": _ATP_BASE,
        "offsetUri": offset,
        "rootDefinitionId": parent,
        "categoryId": "577d5951-fc56-4906-90bc-2c508c6611ad",
        "settingUsage": "configuration",
        "uxBehavior": "default",
        "visibility": "template",
        "accessTypes": "get,replace",
        "applicability": dict(_APPLICABILITY),
        "occurrence": {"minDeviceOccurrence": 1, "maxDeviceOccurrence": 1},
        "keywords": [display, "Microsoft Defender for Endpoint"],
        "infoUrls": [],
        "referredSettingInformationList": [],
        "version": "638700000000000000",
        "dependentOn": [{"parentSettingId": parent, "dependentOn": parent_option}],
        "dependedOnBy": [],
        "defaultValue": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSecretSettingValue",
            "value": None,
            "valueState": "invalid",
            "settingValueTemplateReference": None,
        },
        "valueDefinition": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValueDefinition",
            "format": "none",
            "inputValidationSchema": None,
            "fileTypes": [],
            "isSecret": True,
            "minimumLength": 1,
            "maximumLength": 175032,
        },
    }


_CT = _ATP + "_configurationtype"
DEFINITIONS: dict[str, dict] = {}
for _d in (
    _choice(
        _CT,
        "Microsoft Defender for Endpoint client configuration package type",
        _ATP_BASE,
        "/",
        [
            _option(
                _CT,
                "autofromconnector",
                "AutoFromConnector",
                "Auto from connector",
                "AutoFromConnector",
                [_ATP + "_onboarding_fromconnector"],
            ),
            _option(_CT, "onboard", "Onboard", "Onboard", "Onboard", [_ATP + "_onboarding"]),
            _option(_CT, "offboard", "Offboard", "Offboard", "Offboard", [_ATP + "_offboarding"]),
        ],
    ),
    _secret(
        _ATP + "_onboarding_fromconnector",
        "Onboarding blob from Connector",
        "/Onboarding",
        _CT,
        _CT + "_autofromconnector",
    ),
    _secret(_ATP + "_onboarding", "Onboarding (Device)", "/Onboarding", _CT, _CT + "_onboard"),
    _secret(_ATP + "_offboarding", "Offboarding (Device)", "/Offboarding", _CT, _CT + "_offboard"),
    _choice(
        _ATP + "_configuration_samplesharing",
        "Sample Sharing",
        _ATP_BASE,
        "/Configuration/SampleSharing",
        [
            _option(_ATP + "_configuration_samplesharing", "0", "None", "None", 0),
            _option(_ATP + "_configuration_samplesharing", "1", "All", "All", 1),
        ],
    ),
    _choice(
        _ATP + "_configuration_telemetryreportingfrequency",
        "Expedite telemetry reporting frequency",
        _ATP_BASE,
        "/Configuration/TelemetryReportingFrequency",
        [
            _option(_ATP + "_configuration_telemetryreportingfrequency", "1", "Normal", "Normal", 1),
            _option(_ATP + "_configuration_telemetryreportingfrequency", "2", "Expedite", "Expedite", 2),
        ],
    ),
    _choice(
        "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
        "Allow Realtime Monitoring",
        _DEFENDER_BASE,
        "/AllowRealtimeMonitoring",
        [
            _option(
                "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
                "0",
                "Not allowed",
                "Not allowed. Turns off the real-time monitoring service.",
                0,
            ),
            _option(
                "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
                "1",
                "Allowed",
                "Allowed. Turns on and runs the real-time monitoring service.",
                1,
            ),
        ],
    ),
    _choice(
        "device_vendor_msft_policy_config_defender_allowcloudprotection",
        "Allow Cloud Protection",
        _DEFENDER_BASE,
        "/AllowCloudProtection",
        [
            _option(
                "device_vendor_msft_policy_config_defender_allowcloudprotection",
                "0",
                "Not allowed",
                "Not allowed. Turns off Cloud Protection.",
                0,
            ),
            _option(
                "device_vendor_msft_policy_config_defender_allowcloudprotection",
                "1",
                "Allowed",
                "Allowed. Turns on Cloud Protection.",
                1,
            ),
        ],
    ),
):
    DEFINITIONS[_d["id"]] = _d

#: Templates the fake knows (templateReference is filled in from these on read).
TEMPLATES = {
    "0385b795-0f2f-44ac-8602-9f65bf6adede_1": {
        "templateId": "0385b795-0f2f-44ac-8602-9f65bf6adede_1",
        "templateFamily": "endpointSecurityEndpointDetectionAndResponse",
        "templateDisplayName": "Endpoint detection and response",
        "templateDisplayVersion": "Version 1",
    },
}


def definition(definition_id: str) -> dict | None:
    found = DEFINITIONS.get(definition_id)
    return copy.deepcopy(found) if found else None
