"""Resistive-memory device models and the device port they sit behind.

* :mod:`.onet1r`: 1T1R hafnium-oxide crossbar (Wang et al. 2019).
* :mod:`.siox`: SiOx RRAM with compliance-controlled LRS (Bianchi et al. 2023).
* :mod:`.converters`: DAC and ADC quantisation.
* :mod:`.port`: READ / SET / RESET / VMM with codes, shared by golden models,
  testbenches and bus models.
"""

from memrl.sim.devices.converters import ADC, DAC, Quantizer
from memrl.sim.devices.ledger import PulseLedger
from memrl.sim.devices.onet1r import OneT1RArray, OneT1RParams, PairMap, Stuck, as_generator
from memrl.sim.devices.port import (
    DevicePort,
    OneT1RPort,
    OneT1RPortConfig,
    Op,
    PortOp,
    SiOxPort,
    SiOxPortConfig,
)
from memrl.sim.devices.siox import LRS_TABLE_IC_UA, LRS_TABLE_KOHM, SiOxArray, SiOxParams

__all__ = [
    "ADC",
    "DAC",
    "Quantizer",
    "PulseLedger",
    "OneT1RArray",
    "OneT1RParams",
    "PairMap",
    "Stuck",
    "as_generator",
    "DevicePort",
    "OneT1RPort",
    "OneT1RPortConfig",
    "Op",
    "PortOp",
    "SiOxPort",
    "SiOxPortConfig",
    "LRS_TABLE_IC_UA",
    "LRS_TABLE_KOHM",
    "SiOxArray",
    "SiOxParams",
]
